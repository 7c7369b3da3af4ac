using System.Text.Json;
using Ckpt.Conversion;
using Ckpt.Tests;

namespace Ckpt.Tests.Cli;

public class CliContractTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => global::Ckpt.Tests.Cli.CliRunner.Run(args);

    [Fact]
    public void Inspect_json_prints_one_object_with_the_contract_fields()
    {
        var (code, stdout, stderr) = Run("inspect", TestPaths.Fixture("hf-llama-tiny-sharded"), "--json");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal("safetensors", root.GetProperty("format").GetString());
        Assert.Equal("transformers", root.GetProperty("framework").GetString());
        Assert.Equal(1, root.GetProperty("worldSize").GetInt32());
        Assert.Equal(250432, root.GetProperty("parameterCount").GetInt64());
        Assert.True(root.GetProperty("totalBytes").GetInt64() > 1001728);
        Assert.Equal(7, root.GetProperty("files").GetArrayLength());
        Assert.Equal("llama", root.GetProperty("metadata").GetProperty("config.model_type").GetString());
        var tensors = root.GetProperty("tensors");
        Assert.Equal(39, tensors.GetArrayLength());
        var q = tensors.EnumerateArray().Single(t => t.GetProperty("name").GetString() == "model.layers.3.self_attn.q_proj.weight");
        Assert.Equal("F32", q.GetProperty("dtype").GetString());
        Assert.Equal([64, 64], q.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
        Assert.Equal(64 * 64 * 4, q.GetProperty("bytes").GetInt64());
        Assert.Equal(1, q.GetProperty("fragments").GetInt32());
    }

    [Fact]
    public void Bad_input_prints_one_line_on_stderr_and_exits_non_zero()
    {
        var dir = TestPaths.TempDirectory("cli-bad");
        var path = Path.Combine(dir, "model.safetensors");
        File.WriteAllBytes(path, [200, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}']);
        var (code, stdout, stderr) = Run("inspect", path);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("model.safetensors", lines[0]);
        Assert.Contains("header length is larger than the file", lines[0]);
    }

    [Theory]
    // Every verb is defined in Kernel (GenerateVerb, FineTuningVerb) and types its values there, with the sentence its magic shows too.
    [InlineData("generate|model|--max-new-tokens|abc", "--max-new-tokens must be an integer, not 'abc'")]
    [InlineData("finetune|--recipe|sft|--model|m|--data|d|--steps|ten", "--steps must be an integer, not 'ten'")]
    [InlineData("inspect|x|--no-such-option", "--no-such-option")]
    [InlineData("no-such-command", "no-such-command")]
    public void A_value_the_parser_cannot_read_is_one_line_on_stderr_and_exit_code_2(string args, string named)
    {
        var (code, stdout, stderr) = CliRunner.Run(args.Split('|'));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ckpt: ", line);
        Assert.Contains(named, line);
    }

    [Fact]
    public void Convert_writes_a_loadable_sharded_checkpoint_and_reports_json()
    {
        var dir = TestPaths.TempDirectory("cli-convert");
        var (code, stdout, _) = Run("convert", TestPaths.Fixture("hf-llama-tiny-sharded"), "--to", "safetensors", "--out", dir, "--max-shard-size", "400KB", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(39, doc.RootElement.GetProperty("tensors").GetInt32());
        Assert.Equal(3, doc.RootElement.GetProperty("files").GetArrayLength());
        using var back = Checkpoint.Open(dir);
        Assert.Equal(250432, back.Manifest.ParameterCount);
    }

    [Fact]
    public void Bench_load_reports_rate_and_peak_memory_as_json()
    {
        var (code, stdout, _) = Run("bench", "load", TestPaths.Fixture("hf-llama-tiny-sharded"), "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(1001728, doc.RootElement.GetProperty("bytes").GetInt64());
        Assert.True(doc.RootElement.GetProperty("seconds").GetDouble() > 0);
        Assert.True(doc.RootElement.GetProperty("gbPerSecond").GetDouble() > 0);
        Assert.True(doc.RootElement.GetProperty("peakMemoryBytes").GetInt64() > 0);
    }

    [Theory]
    [InlineData("100KB", 100_000L)]
    [InlineData("2GB", 2_000_000_000L)]
    [InlineData("512MiB", 536_870_912L)]
    [InlineData("1.5GB", 1_500_000_000L)]
    [InlineData("4096", 4096L)]
    public void Sizes_are_parsed_as_hugging_face_writes_them(string text, long bytes) => Assert.Equal(bytes, ByteSize.Parse(text));

    [Fact]
    public void An_unparseable_size_is_one_line_error()
    {
        var (code, _, stderr) = Run("convert", TestPaths.Fixture("hf-gpt2-tiny"), "--out", TestPaths.TempDirectory("x"), "--max-shard-size", "lots");
        Assert.Equal(2, code);
        Assert.Contains("'lots' is not a size", stderr);
    }
}

public class CliConvertParityTests
{
    static void AssertSameTensors(string expectedFile, string actualPath)
    {
        using var reference = Checkpoint.Open(expectedFile);
        using var converted = Checkpoint.Open(actualPath);
        Assert.Equal(reference.Manifest.Tensors.Select(t => t.Name).Order(), converted.Manifest.Tensors.Select(t => t.Name).Order());
        foreach (var t in reference.Manifest.Tensors)
        {
            using var a = reference.Read(t.Name);
            using var b = converted.Read(t.Name);
            Assert.Equal(t.Shape, converted.GetEntry(t.Name).Shape);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), t.Name);
        }
    }

    [Fact]
    public void Converting_a_dtensor_dcp_checkpoint_gives_the_reference_safetensors()
    {
        var dir = TestPaths.TempDirectory("dcp-convert");
        int code = Ckpt.Cli.Program.Run(["convert", TestPaths.Fixture("dcp-dtensor1d-4rank"), "--to", "safetensors", "--out", dir], new StringWriter(), new StringWriter());
        Assert.Equal(0, code);
        AssertSameTensors(TestPaths.Fixture("dcp-dtensor1d-4rank", "reference_full_model.safetensors"), Path.Combine(dir, "model.safetensors"));
    }

    [Fact]
    public void Converting_the_fsdp2_model_subset_writes_an_hf_sharded_checkpoint_equal_to_the_reference()
    {
        var dir = TestPaths.TempDirectory("fsdp2-convert");
        var err = new StringWriter();
        int code = Ckpt.Cli.Program.Run(["convert", TestPaths.Fixture("dcp-fsdp2-4rank"), "--to", "safetensors", "--out", dir,
            "--only", "model.**", "--strip-prefix", "model.", "--max-shard-size", "300KB"], new StringWriter(), err);
        Assert.True(code == 0, err.ToString());
        AssertSameTensors(TestPaths.Fixture("dcp-fsdp2-4rank", "reference_full_model.safetensors"), dir);

        // The index is what transformers' from_pretrained reads: every tensor mapped to an existing shard, total_size in bytes.
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "model.safetensors.index.json")));
        var map = index.RootElement.GetProperty("weight_map");
        Assert.Equal(39, map.EnumerateObject().Count());
        Assert.All(map.EnumerateObject(), kv => Assert.Matches(@"^model-\d{5}-of-\d{5}\.safetensors$", kv.Value.GetString()!));
        Assert.All(map.EnumerateObject(), kv => Assert.True(File.Exists(Path.Combine(dir, kv.Value.GetString()!))));
        Assert.Equal(1001728, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
    }
}
