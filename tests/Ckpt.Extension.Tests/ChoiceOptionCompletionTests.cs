using Ckpt.Extension.Directives;
using Ckpt.Verbs;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Tests;

/// <summary>
/// A magic's named-choice parameter (`#!ckpt-finetune --recipe`, `#!ckpt-convert --to`, ...) offers the option's
/// accepted names (<see cref="VerbOption.Choices"/>) as the editor's completions for its value: on the directive
/// <see cref="VerbDirective"/> declares, on the one the kernel registers (re-declared repeatable by
/// <see cref="SingleValueOptions"/>), and in a completion request on that line.
/// </summary>
public sealed class ChoiceOptionCompletionTests : IDisposable
{
    readonly KernelHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    /// <summary>Every magic parameter that has choices, as (magic, option): walked from the catalog.</summary>
    public static TheoryData<string, string> ChoiceParameters()
    {
        var data = new TheoryData<string, string>();
        foreach (var verb in VerbCatalog.All.Where(v => v.Magic is not null))
            foreach (var option in verb.Options.Where(o => o.Choices is not null && o.Surface != OptionSurface.CliOnly))
                data.Add(verb.Magic!, option.Name);
        return data;
    }

    static Verb VerbOf(string magic) => VerbCatalog.All.Single(v => v.Magic == magic);

    static async Task<IReadOnlyList<string>> CompletionsOf(KernelDirective directive, string option) =>
        (await ((KernelActionDirective)directive).Parameters.Single(p => p.Name == option).GetValueCompletionsAsync()).Select(c => c.DisplayText).ToList();

    [Fact]
    public void The_choice_parameters_walked_include_those_of_finetune_convert_reshard_and_merge()
    {
        var walked = ChoiceParameters().Select(row => $"{row[0]} {row[1]}").ToList();
        foreach (var expected in new[] { "#!ckpt-finetune --recipe", "#!ckpt-finetune --lr-scheduler", "#!ckpt-finetune --dpo-loss", "#!ckpt-finetune --template", "#!ckpt-convert --to", "#!ckpt-reshard --layout", "#!ckpt-merge --rescale" })
            Assert.Contains(expected, walked);
    }

    [Theory]
    [MemberData(nameof(ChoiceParameters))]
    public async Task The_directive_parameter_offers_the_accepted_names_as_value_completions(string magic, string option)
    {
        var verb = VerbOf(magic);
        Assert.Equal(verb[option].Choices!, await CompletionsOf(VerbDirective.Create(verb), option));
        var registered = _harness.Kernel.KernelInfo.SupportedDirectives.Single(d => d.Name == magic);
        Assert.Equal(verb[option].Choices!, await CompletionsOf(registered, option));
    }

    /// <summary>An option without choices offers no value completions, so a free-text or numeric value is not second-guessed.</summary>
    [Fact]
    public async Task A_parameter_without_choices_offers_no_value_completions()
    {
        var registered = _harness.Kernel.KernelInfo.SupportedDirectives.Single(d => d.Name == "#!ckpt-finetune");
        Assert.Empty(await CompletionsOf(registered, "--steps"));
        Assert.Empty(await CompletionsOf(registered, "--model"));
    }

    /// <summary>What the editor asks when the cursor follows `--recipe `: the kernel answers with the accepted names.</summary>
    [Fact]
    public async Task A_completion_request_after_the_option_answers_its_accepted_names()
    {
        const string line = "#!ckpt-finetune --recipe ";
        var result = await _harness.Kernel.SendAsync(new RequestCompletions(line, new LinePosition(0, line.Length)));
        var produced = Assert.Single(result.Events.OfType<CompletionsProduced>());
        Assert.Equal(VerbOf("#!ckpt-finetune")["--recipe"].Choices!.Order(), produced.Completions.Select(c => c.DisplayText).Order());
    }
}
