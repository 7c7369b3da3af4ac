using System.CommandLine;
using Ckpt.Verbs;

namespace Ckpt.Tests.Cli;

/// <summary>
/// A named-choice option (an enum-typed request property: `--recipe`, `--to`, `--layout`, `--rescale`, ...) shows its
/// accepted names in `ckpt VERB --help` and offers them as completions (System.CommandLine's completion API and the
/// `[suggest]` directive that dotnet-suggest calls), all from <see cref="VerbOption.Choices"/>; the parser still takes
/// any text, so the refusal stays the Kernel binding's one sentence.
/// </summary>
public sealed class ChoiceOptionHelpTests
{
    /// <summary>Every command option that has choices, as (verb, option): walked from the catalog, not listed here.</summary>
    public static TheoryData<string, string> ChoiceOptions()
    {
        var data = new TheoryData<string, string>();
        foreach (var verb in VerbCatalog.All.Where(v => v.HasCommand))
            foreach (var option in verb.Options.Where(o => o.Choices is not null && o.Surface != OptionSurface.MagicOnly))
                data.Add(verb.Name, option.Name);
        return data;
    }

    static IReadOnlyList<string> Choices(string verb, string option) => VerbCatalog.All.Single(v => v.Name == verb)[option].Choices!;

    [Fact]
    public void The_choice_options_walked_include_those_of_finetune_convert_reshard_and_merge()
    {
        var walked = ChoiceOptions().Select(row => $"{row[0]} {row[1]}").ToList();
        foreach (var expected in new[] { "finetune --recipe", "finetune --lr-scheduler", "finetune --dpo-loss", "finetune --template", "convert --to", "reshard --layout", "merge --rescale" })
            Assert.Contains(expected, walked);
    }

    [Theory]
    [MemberData(nameof(ChoiceOptions))]
    public void The_help_shows_the_accepted_names_in_the_options_usage_in_declared_order(string verb, string option)
    {
        var (code, stdout, stderr) = CliRunner.Run([.. verb.Split(' '), "--help"]);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var line = Assert.Single(stdout.Split('\n'), l => l.StartsWith($"  {option} ", StringComparison.Ordinal));
        Assert.StartsWith($"  {option} <{string.Join("|", Choices(verb, option))}>", line);
    }

    [Theory]
    [MemberData(nameof(ChoiceOptions))]
    public void The_completions_of_the_options_value_are_its_accepted_names(string verb, string option)
    {
        var choices = Choices(verb, option);
        var line = $"{verb} {option} ";
        var parsed = global::Ckpt.Cli.Program.Root(TextWriter.Null, TextWriter.Null).Parse(line);
        Assert.Equal(choices.Order(StringComparer.Ordinal), parsed.GetCompletions(line.Length).Select(c => c.Label).Order(StringComparer.Ordinal));

        // What dotnet-suggest runs: `ckpt [suggest:POSITION] "LINE"`, one completion a line on stdout.
        var (code, stdout, stderr) = CliRunner.Run($"[suggest:{line.Length}]", line);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Equal(choices.Order(StringComparer.Ordinal), stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal));

        // A typed beginning narrows them to the names that contain it.
        var typed = choices[^1][..1];
        var narrowed = CliRunner.Run($"[suggest:{line.Length + 1}]", line + typed).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(choices.Where(c => c.Contains(typed, StringComparison.Ordinal)).Order(StringComparer.Ordinal), narrowed.Order(StringComparer.Ordinal));
    }

    /// <summary>The parser takes any text for a choice option (an extra spelling such as `--to hf`, or a wrong name), so
    /// the only refusal is the Kernel binding's sentence, the same in the magic.</summary>
    [Theory]
    [MemberData(nameof(ChoiceOptions))]
    public void The_parser_leaves_a_value_outside_the_choices_to_the_kernel_binding(string verb, string option)
    {
        var parsed = global::Ckpt.Cli.Program.Root(TextWriter.Null, TextWriter.Null).Parse([.. verb.Split(' '), option, "not_a_choice"]);
        Assert.DoesNotContain(parsed.Errors, e => e.Message.Contains(option, StringComparison.Ordinal) || e.Message.Contains("not_a_choice", StringComparison.Ordinal));
        var declared = parsed.CommandResult.Command.Options.Single(o => o.Name == option);
        Assert.Equal(["not_a_choice"], parsed.GetResult(declared)!.Tokens.Select(t => t.Value));
    }

    [Fact]
    public void A_wrong_recipe_is_refused_with_the_bindings_one_sentence_and_exit_code_2()
    {
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "ppo", "--model", "m", "--data", "d");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("ckpt: --recipe must be sft, dpo, ga, kl or npo, not 'ppo'", stderr.Trim());
    }
}
