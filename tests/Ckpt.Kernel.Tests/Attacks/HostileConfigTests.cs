using System.Text;
using Ckpt.Errors;
using Ckpt.Formats.Text;
using Ckpt.Merging;
using Ckpt.Training;

namespace Ckpt.Tests.Attacks;

/// <summary>
/// Structured text a user hands Ckpt besides checkpoints (a merge config, adapter_config.json): nested past any
/// parser's stack, or holding a string no encoder can write, it is refused in one sentence, in bounded CPU time.
/// </summary>
public class HostileConfigTests
{
    static readonly string NestedYaml = Path.Combine(HostileCorpusTests.Corpus, "config", "merge_nested_50000.yaml");

    [Fact]
    public void A_merge_config_nested_50000_deep_is_refused_before_it_is_loaded()
    {
        var (cpu, error) = ThreadCpuTime.Of(() => MergeConfigParser.ParseFile(NestedYaml));
        var e = Assert.IsType<CheckpointFormatException>(error);
        Assert.Equal(FormatErrorReason.MergeConfigInvalid, e.Reason);
        Assert.Contains($"nests deeper than {YamlLimits.MaxDepth} levels at line 2", e.Message);
        Assert.True(cpu < TimeSpan.FromSeconds(2), $"took {cpu.TotalSeconds:F2} s of CPU");
    }

    [Fact]
    public void The_cli_refuses_the_nested_merge_config_in_one_line_with_exit_2()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var outDir = Path.Combine(TestPaths.TempDirectory("hostile-yaml"), "out");
        int code = Ckpt.Cli.Program.Run(["merge", "--config", NestedYaml, "--out", outDir], stdout, stderr);
        Assert.Equal(2, code);
        var line = stderr.ToString().TrimEnd('\n');
        Assert.StartsWith("ckpt: ", line);
        Assert.DoesNotContain("\n", line);
        Assert.Contains("[MergeConfigInvalid]", line);
    }

    [Fact]
    public void A_yaml_within_the_depth_limit_loads_as_before()
    {
        var yaml = "merge_method: linear\nmodels: " + new string('[', YamlLimits.MaxDepth - 1) + new string(']', YamlLimits.MaxDepth - 1) + "\n";
        YamlLimits.Check(yaml, "ok.yaml", FormatErrorReason.MergeConfigInvalid);
    }

    [Theory]
    [InlineData("{\"a\": \"\\ud800\"}")]
    [InlineData("{\"\\udc00\": 1}")]
    [InlineData("[\"x\\ud800\\u0041\"]")]
    public void A_json_string_with_a_lone_surrogate_is_refused_in_one_sentence(string json)
    {
        var e = Assert.Throws<CheckpointFormatException>(() => JsonLimits.Parse(json, "config.json", FormatErrorReason.MetadataInvalid));
        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
        Assert.StartsWith("config.json: a JSON string at line 1 escapes a lone UTF-16 surrogate", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Json_nested_100000_deep_is_refused_in_bounded_time()
    {
        var json = Encoding.ASCII.GetBytes(new string('[', 100_000) + new string(']', 100_000));
        var (cpu, error) = ThreadCpuTime.Of(() => JsonLimits.Parse(json, "x.json", FormatErrorReason.MetadataInvalid));
        var e = Assert.IsType<CheckpointFormatException>(error);
        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
        Assert.StartsWith($"x.json: the JSON nests deeper than {JsonLimits.MaxDepth} levels at line 1", e.Message);
        Assert.True(cpu < TimeSpan.FromSeconds(2), $"took {cpu.TotalSeconds:F2} s of CPU");
    }

    [Fact]
    public void An_adapter_config_with_a_lone_surrogate_is_a_format_error_not_an_exception_type()
    {
        var dir = TestPaths.TempDirectory("hostile-adapter");
        var path = Path.Combine(dir, "adapter_config.json");
        File.WriteAllText(path, "{\"peft_type\": \"LORA\", \"r\": 8, \"target_modules\": [\"q_proj\\ud800\"]}");
        var e = Assert.Throws<CheckpointFormatException>(() => LoraConfig.Read(path));
        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
    }
}
