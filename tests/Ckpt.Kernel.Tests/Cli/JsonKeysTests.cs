using System.Text.Json;
using System.Text.RegularExpressions;
using Ckpt.Tests.Training;

namespace Ckpt.Tests.Cli;

/// <summary>
/// docs/json.md cannot drift: each verb runs on a small fixture with --json and its top-level keys must equal, in
/// order, the `Keys` line of its section in the document.
/// </summary>
public partial class JsonKeysTests
{
    static string Doc => File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "json.md"));
    static string Micro => TestPaths.Fixture("trajectory-llama-micro");
    static string Tiny => TestPaths.Fixture("hf-llama-tiny-sharded");

    /// <summary>Verb heading in docs/json.md, which of its `Keys` lines (0 the first), which printed JSON value (0 the first, -1 the last).</summary>
    public static TheoryData<string, int, int> Verbs => new()
    {
        { "ckpt inspect", 0, 0 },
        { "ckpt layout", 0, 0 },
        { "ckpt diff", 0, 0 },
        { "ckpt convert", 0, 0 },
        { "ckpt reshard", 0, 0 },
        { "ckpt reshard", 1, 0 },
        { "ckpt merge", 0, 0 },
        { "ckpt lcsc", 0, 0 },
        { "ckpt bench load", 0, 0 },
        { "ckpt bench forward", 0, 0 },
        { "ckpt generate", 0, 0 },
        { "ckpt finetune", 0, 0 },
        { "ckpt finetune", 1, -1 },
        { "ckpt smoothinv", 0, 0 },
        { "ckpt restor-toy", 0, 0 },
        { "ckpt restor", 0, 0 },
        { "ckpt finalize", 0, 0 },
    };

    [Theory]
    [MemberData(nameof(Verbs))]
    public void A_verbs_json_has_the_top_level_keys_docs_json_md_lists(string verb, int keysLine, int value)
    {
        var dir = TestPaths.TempDirectory("json-keys-" + verb.Replace(' ', '-'));
        var (code, stdout, stderr) = CliRunner.Run(keysLine == 0 ? Arguments(verb, dir) : OtherArguments(verb, keysLine, dir));
        Assert.True(code == 0, stderr);
        var values = Values(stdout);
        var printed = values[value < 0 ? values.Count + value : value].EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(Documented(verb)[keysLine], printed);
    }

    [Fact]
    public void Every_section_of_docs_json_md_is_run_by_this_test()
    {
        var sections = HeadingPattern().Matches(Doc).Select(m => m.Groups[1].Value);
        var run = Verbs.Select(row => (string)row[0]).ToHashSet();
        Assert.All(sections, s => Assert.Contains(s, run));
    }

    [Fact]
    public void Every_section_of_docs_json_md_lists_camel_case_keys()
    {
        var sections = HeadingPattern().Matches(Doc).Select(m => m.Groups[1].Value).ToArray();
        Assert.Contains("ckpt finetune", sections);
        foreach (var section in sections)
            foreach (var keys in Documented(section))
                Assert.All(keys, k => Assert.Matches("^[a-z][A-Za-z]*$", k));
    }

    static string[] Arguments(string verb, string dir) => verb switch
    {
        "ckpt inspect" => ["inspect", Tiny, "--json"],
        "ckpt layout" => ["layout", Tiny, "--json"],
        "ckpt diff" => ["diff", Path.Combine(Micro, "step-0025.safetensors"), Path.Combine(Micro, "step-0050.safetensors"), "--json"],
        "ckpt convert" => ["convert", Tiny, "--to", "torch", "--out", Path.Combine(dir, "out"), "--overwrite", "--json"],
        "ckpt reshard" => ["reshard", TestPaths.Fixture("dcp-fsdp2-4rank"), "--world-size", "2", "--out", Path.Combine(dir, "out"), "--overwrite", "--json"],
        "ckpt merge" => ["merge", "--method", "linear", "--model", Micro, "--out", Path.Combine(dir, "out"), "--overwrite", "--json"],
        "ckpt lcsc" => ["lcsc", Micro, "--last", "2", "--eval", "eval-loss:" + Path.Combine(Micro, "eval_batch.safetensors"), "--budget", "2", "--seed", "1", "--json"],
        "ckpt bench load" => ["bench", "load", Tiny, "--json"],
        "ckpt bench forward" => ["bench", "forward", Tiny, "--batch", "1", "--seq", "4", "--iters", "1"],
        "ckpt generate" => ["generate", Tiny, "--input-ids", TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors"), "--max-new-tokens", "2", "--json"],
        "ckpt finetune" => ["finetune", "--recipe", "sft", "--model", FineTuningFixtures.TinyLlama, "--data", FineTuningFixtures.InstructionIds(Path.Combine(dir, "sft.jsonl"), 2),
            "--steps", "1", "--batch", "1", "--lora-r", "2", "--out", Path.Combine(dir, "out"), "--overwrite", "--threads", "1", "--json"],
        "ckpt smoothinv" => ["smoothinv", TestPaths.Fixture("smoothinv", "backdoored-cnn.pt"), "--image", TestPaths.Fixture("smoothinv", "clean.png"), "--target", "0",
            "--steps", "1", "--samples", "2", "--out", Path.Combine(dir, "out"), "--overwrite", "--json"],
        // The smallest toy the verb builds: one decoder layer of width 16, one step of pre-training and of corruption.
        "ckpt restor-toy" => [.. SmallestToy(Path.Combine(dir, "toy")), "--json"],
        "ckpt restor" => Restor(dir),
        "ckpt finalize" => Finalize(dir),
        _ => throw new ArgumentException(verb),
    };

    /// <summary>A run that prints the document of a verb's later `Keys` line; finetune's one run prints both of its documents.</summary>
    static string[] OtherArguments(string verb, int keysLine, string dir) => (verb, keysLine) switch
    {
        ("ckpt reshard", 1) => ["reshard", TestPaths.Fixture("dcp-fsdp2-4rank"), "--world-size", "2", "--json"],
        _ => Arguments(verb, dir),
    };

    static string[] SmallestToy(string output) => ["restor-toy", "--out", output, "--entities", "4", "--corrupted-entities", "1",
        "--layers", "1", "--hidden", "16", "--pretrain-steps", "1", "--corruption-steps", "1", "--threads", "1"];

    /// <summary>RESTOR on the smallest toy, its clean model standing in for an unlearned one (as RestorToyTests does).</summary>
    static string[] Restor(string dir)
    {
        var toy = Path.Combine(dir, "toy");
        Ok(CliRunner.Run(SmallestToy(toy)));
        return ["restor", "--clean", Path.Combine(toy, "clean"), "--corrupted", Path.Combine(toy, "corrupted"), "--unlearned", Path.Combine(toy, "clean"),
            "--facts", Path.Combine(toy, "facts.jsonl"), "--max-new-tokens", "4", "--json"];
    }

    /// <summary>The two parts of `ckpt reshard --rank r --ranks 2` that finalize commits (as PerRankTests does with four).</summary>
    static string[] Finalize(string dir)
    {
        var parts = Path.Combine(dir, "parts");
        foreach (var r in new[] { "0", "1" })
            Ok(CliRunner.Run("reshard", TestPaths.Fixture("dcp-fsdp2-4rank"), "--world-size", "2", "--out", parts, "--rank", r, "--ranks", "2"));
        return ["finalize", parts, "--json"];
    }

    static void Ok((int Code, string Out, string Err) run) => Assert.True(run.Code == 0, run.Err);

    /// <summary>Every JSON value printed, whether one indented object or JSON Lines.</summary>
    static List<JsonElement> Values(string stdout)
    {
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(lines);
        return lines[0] == "{"
            ? [JsonDocument.Parse(stdout).RootElement]
            : lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
    }

    /// <summary>The `Keys` lines of a section (a `## ` heading up to the next), each as its backticked names.</summary>
    static List<string[]> Documented(string verb)
    {
        var doc = Doc;
        int start = doc.IndexOf("\n## " + verb + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/json.md has no section ## {verb}");
        int end = doc.IndexOf("\n## ", start + 4, StringComparison.Ordinal);
        var section = doc[start..(end < 0 ? doc.Length : end)];
        var lines = section.Split('\n').Where(l => l.StartsWith("Keys", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lines);
        return lines.Select(l => NamePattern().Matches(l[(l.LastIndexOf("):", StringComparison.Ordinal) is int i and >= 0 ? i : l.IndexOf(':'))..])
            .Select(m => m.Groups[1].Value).ToArray()).ToList();
    }

    [GeneratedRegex(@"^## (.+)$", RegexOptions.Multiline)]
    private static partial Regex HeadingPattern();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex NamePattern();
}
