using System.Text.Json;
using Ckpt.Tests.Training;

namespace Ckpt.Tests.Cli;

public class GenerateCommandTests
{
    static string Llama => TestPaths.Fixture("hf-llama-tiny-sharded");
    static string PeftReference => TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors");

    [Fact]
    public void Generate_with_an_adapter_and_input_ids_prints_one_json_object_per_row()
    {
        var (code, stdout, stderr) = CliRunner.Run("generate", Llama, "--adapter", TestPaths.Fixture("peft-lora-llama-tiny"),
            "--input-ids", PeftReference, "--max-new-tokens", "5", "--json");
        Assert.True(code == 0, stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(2, rows.Length);
        foreach (var row in rows)
        {
            Assert.Equal(12, row.GetProperty("promptIds").GetArrayLength());
            Assert.Equal(5, row.GetProperty("generatedIds").GetArrayLength());
            Assert.Equal("length", row.GetProperty("finishReason").GetString());
            Assert.False(row.GetProperty("sampling").GetBoolean());
            Assert.True(row.GetProperty("kvCache").GetBoolean());
        }
    }

    [Fact]
    public void Generate_prints_the_decoded_text_and_a_summary_line()
    {
        var folder = FineTuningFixtures.RandomLlama(TestPaths.TempDirectory("cli-generate-text"), withTokenizer: true);
        var (code, stdout, stderr) = CliRunner.Run("generate", folder, "--prompt", "Once upon a time", "--max-new-tokens", "6",
            "--temperature", "0.7", "--top-p", "0.9", "--top-k", "50", "--seed", "1");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("-- 6 tokens (length)", lines[1]);
        Assert.StartsWith("-- sampled (seed 1), llama", lines[2]);
        var json = CliRunner.Run("generate", folder, "--prompt", "Once upon a time", "--max-new-tokens", "6",
            "--temperature", "0.7", "--top-p", "0.9", "--top-k", "50", "--seed", "1", "--json");
        // The streamed text is the row's decoded text.
        Assert.Equal(JsonDocument.Parse(json.Out).RootElement.GetProperty("text").GetString(), lines[0]);
        var again = CliRunner.Run("generate", folder, "--prompt", "Once upon a time", "--max-new-tokens", "6",
            "--temperature", "0.7", "--top-p", "0.9", "--top-k", "50", "--seed", "1");
        Assert.Equal(lines[0], again.Out.Split('\n')[0]);
    }

    [Theory]
    [InlineData("--prompt is empty", "--prompt", "")]
    [InlineData("--max-new-tokens must be at least 1", "--input-ids", "{ids}", "--max-new-tokens", "0")]
    [InlineData("--top-p must be in (0, 1]", "--input-ids", "{ids}", "--top-p", "1.5")]
    [InlineData("--temperature must be a positive number", "--input-ids", "{ids}", "--temperature", "0")]
    [InlineData("--top-k must be 0 (off) or positive", "--input-ids", "{ids}", "--top-k", "-1")]
    [InlineData("--dtype must be F32, BF16, F16 or F64, not 'f8'", "--input-ids", "{ids}", "--dtype", "f8")]
    [InlineData("--device must be cpu, cuda or cuda:N, not 'tpu'", "--input-ids", "{ids}", "--device", "tpu")]
    [InlineData("--greedy cannot be combined", "--input-ids", "{ids}", "--greedy", "--temperature", "0.7")]
    [InlineData("give exactly one of --prompt and --input-ids", "--max-new-tokens", "3")]
    [InlineData("--chat renders a --prompt", "--input-ids", "{ids}", "--chat")]
    [InlineData("needs tokenizer.model or tokenizer.json beside the model", "--prompt", "Hello")]
    [InlineData("does not exist", "--input-ids", "no-such-file.safetensors")]
    public void Bad_input_exits_2_with_one_line_naming_the_problem(string expected, params string[] options)
    {
        var args = new[] { "generate", Llama }.Concat(options.Select(o => o.Replace("{ids}", PeftReference))).ToArray();
        var (code, stdout, stderr) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ckpt: ", line);
        Assert.Contains(expected, line);
    }
}
