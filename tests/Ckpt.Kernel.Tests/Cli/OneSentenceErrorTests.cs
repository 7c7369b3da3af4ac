using Ckpt.Errors;
using Ckpt.Tests.Attacks;

namespace Ckpt.Tests.Cli;

/// <summary>
/// Input a user can produce (special files, loops, out-of-range numbers, a folder for a file, names with newlines)
/// ends as exactly one `ckpt:` line on stderr and exit 2, without an exception type; a bug says "internal error".
/// </summary>
public class OneSentenceErrorTests
{
    /// <summary>Each case builds its input at test time and returns the arguments.</summary>
    public static TheoryData<string> Cases() => new(CaseArguments.Keys);

    static readonly Dictionary<string, Func<string, string[]>> CaseArguments = new()
    {
        ["fifo"] = dir => ["inspect", SpecialFiles.Fifo(Path.Combine(dir, "model.safetensors"))],
        ["fifo-in-folder"] = dir =>
        {
            var copy = SpecialFiles.CopyOf("dcp-fsdp2-4rank");
            SpecialFiles.Fifo(Path.Combine(copy, ".metadata"));
            return ["inspect", copy];
        },
        ["symlink-loop"] = dir => ["inspect", SpecialFiles.LinkLoop(Path.Combine(dir, "model.safetensors"))],
        ["layout-html-folder"] = dir => ["layout", TestPaths.Fixture("hf-gpt2-tiny"), "--html", dir],
        ["diff-html-under-a-file"] = dir => ["diff", TestPaths.Fixture("hf-gpt2-tiny"), TestPaths.Fixture("hf-gpt2-tiny"), "--html",
            Path.Combine(TestPaths.Fixture("hf-gpt2-tiny", "config.json"), "report.html")],
        ["world-size-int-max"] = dir => ["reshard", TestPaths.Fixture("hf-gpt2-tiny"), "--world-size", "2147483647", "--out", Path.Combine(dir, "out")],
        ["world-size-above-elements"] = dir => ["reshard", TestPaths.Fixture("hf-gpt2-tiny"), "--world-size", "100000", "--out", Path.Combine(dir, "out")],
        ["mesh-overflow"] = dir => ["reshard", TestPaths.Fixture("hf-gpt2-tiny"), "--mesh", "65536x65536", "--out", Path.Combine(dir, "out")],
        ["shards-zero"] = dir => ["bench", "generate", "--shards", "0", "--out", Path.Combine(dir, "out")],
        ["size-zero"] = dir => ["bench", "generate", "--size", "0", "--out", Path.Combine(dir, "out")],
        ["parallelism-zero"] = dir => ["bench", "load", TestPaths.Fixture("hf-gpt2-tiny"), "--parallelism", "0"],
        ["newline-in-names"] = dir => ["inspect", HostileNames.Safetensors(Path.Combine(dir, "model.safetensors"), "a\nb", "F\n32")],
        ["newline-in-path"] = dir => ["inspect", Path.Combine(dir, "no\nsuch")],
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_user_producible_failure_is_one_ckpt_line_without_an_exception_type_and_exit_2(string name)
    {
        var args = CaseArguments[name](TestPaths.TempDirectory("one-sentence-" + name));
        var (code, _, stderr) = await Task.Run(() => CliRunner.Run(args)).WaitAsync(TimeSpan.FromSeconds(60));
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("ckpt: ", lines[0]);
        Assert.DoesNotContain("Exception", lines[0]);
        Assert.DoesNotContain("System.", lines[0]);
        Assert.Equal(2, code);
    }

    [Fact]
    public void A_world_larger_than_the_largest_tensor_is_refused_before_any_rank_is_planned()
    {
        var dir = TestPaths.TempDirectory("world");
        var (code, _, stderr) = CliRunner.Run("reshard", TestPaths.Fixture("hf-gpt2-tiny"), "--world-size", "100000", "--out", Path.Combine(dir, "out"));
        Assert.Equal(2, code);
        Assert.Contains("tensor 'transformer.wte.weight': a world of 100000 ranks is more than the largest tensor has elements", stderr);
        Assert.Contains("(expected at most 32768 ranks, found 100000) [OptionOutOfRange]", stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Fact]
    public void A_bug_is_said_as_an_internal_error_to_report_without_its_type_and_exits_1()
    {
        var bug = UserFacingError.From(new InvalidOperationException("Sequence contains\nno elements"), "running ckpt merge");
        Assert.Equal(ErrorKind.Internal, bug.Kind);
        Assert.Equal(@"internal error while running ckpt merge: Sequence contains\nno elements (please report this)", bug.Sentence);
        var nested = UserFacingError.From(new AggregateException(new CheckpointFormatException(FormatErrorReason.Truncated, "a\nb", null, "short")), "x");
        Assert.Equal((@"a\nb: short [Truncated].", ErrorKind.BadInput), (nested.Sentence, nested.Kind));
        Assert.Equal(ErrorKind.BadInput, UserFacingError.From(new DirectoryNotFoundException("Could not find a part of the path '/x'."), "x").Kind);
    }
}
