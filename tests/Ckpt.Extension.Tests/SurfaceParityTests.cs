using System.CommandLine;
using Ckpt.Verbs;
using Microsoft.DotNet.Interactive.Directives;

namespace Ckpt.Extension.Tests;

/// <summary>
/// The CLI command and the magic of every verb expose the same options with the same defaults and arity, apart from
/// those the verb's Kernel definition marks for one surface (`--json` for the terminal, `--name` for a notebook). An
/// option added by hand to one surface fails here.
/// </summary>
public sealed class SurfaceParityTests : IDisposable
{
    readonly KernelHarness _harness = new();

    public static TheoryData<string> Verbs() => new(VerbCatalog.All.Where(v => v.Magic is not null).Select(v => v.Name));

    record Shape(string Name, bool Many, bool Flag, bool Required, string? Default);

    [Theory]
    [MemberData(nameof(Verbs))]
    public void The_cli_command_and_the_magic_of_a_verb_take_the_same_options(string name)
    {
        var verb = VerbCatalog.All.Single(v => v.Name == name);
        var cli = Cli(verb);
        var magic = Magic(verb);
        var expected = verb.Options.Where(o => o.Surface == OptionSurface.Both && !o.Positional)
            .Select(o => new Shape(o.Name, o.Many, o.Flag, o.Required, o.Default)).ToList();

        Assert.Equal(expected, cli.Where(s => verb.Options.All(o => o.Name != s.Name || o.Surface == OptionSurface.Both)));
        Assert.Equal(expected, magic.Where(s => verb.Options.All(o => o.Name != s.Name || o.Surface == OptionSurface.Both)));
        Assert.Equal(verb.Options.Where(o => o.Surface == OptionSurface.CliOnly).Select(o => o.Name), cli.Select(s => s.Name).Except(expected.Select(s => s.Name)));
        Assert.Equal(verb.Options.Where(o => o.Surface == OptionSurface.MagicOnly).Select(o => o.Name), magic.Select(s => s.Name).Except(expected.Select(s => s.Name)));
    }

    /// <summary>
    /// The verbs whose options are still declared on each surface by hand (not yet in <see cref="VerbCatalog"/>): their
    /// option names must still match, apart from the surface-only ones listed here. inspect (`#!ckpt-load`), forward and
    /// bench have one surface only; stats and timeline are magics only.
    /// </summary>
    [Theory]
    // generate: the CLI takes the model as its positional argument, the magic as --model.
    [InlineData("generate", "#!ckpt-generate", "--input-ids --json --no-cache", "--model --name")]
    [InlineData("layout", "#!ckpt-layout", "--html --overwrite --json", "")]
    [InlineData("diff", "#!ckpt-diff", "--html --overwrite --json", "")]
    public void A_verb_declared_by_hand_takes_the_same_option_names_on_both_surfaces(string name, string magic, string cliOnly, string magicOnly)
    {
        Assert.DoesNotContain(VerbCatalog.All, v => v.Name == name);
        var cli = Ckpt.Cli.Program.Root(TextWriter.Null, TextWriter.Null).Subcommands.Single(c => c.Name == name)
            .Options.Select(o => o.Name).Where(n => n.StartsWith("--", StringComparison.Ordinal) && n != "--help").Order().ToList();
        var directive = _harness.Kernel.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>().Single(d => d.Name == magic);
        var names = directive.Parameters.Where(p => !p.AllowImplicitName).Select(p => p.Name).Order().ToList();
        Assert.Equal(cliOnly.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(), cli.Except(names));
        Assert.Equal(magicOnly.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(), names.Except(cli));
    }

    static List<Shape> Cli(Verb verb)
    {
        var command = Ckpt.Cli.Program.Root(TextWriter.Null, TextWriter.Null).Subcommands.Single(c => c.Name == verb.Name);
        return command.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal) && o.Name != "--help").Select(o => new Shape(
            o.Name,
            o.ValueType == typeof(string[]),
            o.ValueType == typeof(bool),
            o.Required,
            o.HasDefaultValue && o.ValueType != typeof(bool) ? o.GetDefaultValue()?.ToString() : null)).ToList();
    }

    List<Shape> Magic(Verb verb)
    {
        var directive = _harness.Kernel.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>().Single(d => d.Name == verb.Magic);
        var once = SingleValueOptions.OnceOptions(verb.Magic!);
        return directive.Parameters.Where(p => !p.AllowImplicitName).Select(p => new Shape(
            p.Name,
            !p.Flag && !once.Contains(p.Name),
            p.Flag,
            p.Required,
            DefaultIn(p.Description))).ToList();
    }

    /// <summary>A magic shows its default at the end of its help, as <see cref="VerbOption.HelpWithDefault"/> writes it.</summary>
    static string? DefaultIn(string? help)
    {
        const string marker = " (default ";
        if (help is null || !help.EndsWith(").", StringComparison.Ordinal)) return null;
        int at = help.LastIndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? null : help[(at + marker.Length)..^2];
    }

    public void Dispose() => _harness.Dispose();
}
