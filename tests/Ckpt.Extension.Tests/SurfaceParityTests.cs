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

    public static TheoryData<string> Verbs() => new(VerbCatalog.All.Where(v => v.Magic is not null && v.HasCommand).Select(v => v.Name));

    public static TheoryData<string> OneSurfaceVerbs() => new(VerbCatalog.All.Where(v => v.Magic is null || !v.HasCommand).Select(v => v.Name));

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
        AssertPositionalsOnBothSurfaces(verb);
    }

    /// <summary>
    /// A verb offered on one surface only (a chart of a notebook variable; a benchmark or parity check for a terminal)
    /// is still declared in Kernel, says why the other surface is missing, and its one surface takes all its options.
    /// </summary>
    [Theory]
    [MemberData(nameof(OneSurfaceVerbs))]
    public void A_verb_with_one_surface_says_why_and_its_surface_takes_all_its_options(string name)
    {
        var verb = VerbCatalog.All.Single(v => v.Name == name);
        Assert.False(string.IsNullOrWhiteSpace(verb.OneSurfaceReason), $"{name} has one surface and does not say why (Verb.OneSurfaceReason)");
        Assert.True(verb.HasCommand ^ verb.Magic is not null, $"{name} has neither a command nor a magic");
        if (verb.HasCommand)
        {
            Assert.Equal(verb.Options.Where(o => o.Surface != OptionSurface.MagicOnly && !o.Positional).Select(o => new Shape(o.Name, o.Many, o.Flag, o.Required, o.Default)), Cli(verb));
            Assert.DoesNotContain(Directives(), d => d.Name == $"#!ckpt-{verb.Name.Split(' ')[0]}");
        }
        else
        {
            Assert.Equal(verb.Options.Where(o => o.Surface != OptionSurface.CliOnly && !o.Positional).Select(o => new Shape(o.Name, o.Many, o.Flag, o.Required, o.Default)), Magic(verb));
            Assert.DoesNotContain(Root().Subcommands, c => c.Name == verb.Name);
        }
        AssertPositionalsOnBothSurfaces(verb);
    }

    public static TheoryData<string> Magics() => new(VerbCatalog.All.Where(v => v.Magic is not null).Select(v => v.Magic!));

    /// <summary>A magic's help is its verb's, as the command's is: <see cref="Verb.MagicSummary"/> where the notebook
    /// says more (a live chart, the stop button, the variable it binds), else the <see cref="Verb.Summary"/> itself.</summary>
    [Theory]
    [MemberData(nameof(Magics))]
    public void A_magic_is_described_by_its_verbs_magic_summary_or_else_its_summary(string magic)
    {
        var verb = VerbCatalog.All.Single(v => v.Magic == magic);
        Assert.Equal(verb.MagicSummary ?? verb.Summary, Directive(verb).Description);
        Assert.NotEqual(verb.Summary, verb.MagicSummary);
        if (verb.HasCommand) Assert.Equal(verb.Summary, Command(verb).Description);
    }

    /// <summary>Nothing is declared by hand on one surface: every `ckpt` command and every `#!ckpt-` magic is a verb of the catalog.</summary>
    [Fact]
    public void Every_cli_command_and_every_magic_is_a_verb_of_the_catalog()
    {
        var commands = Root().Subcommands.SelectMany(c => c.Subcommands.Count > 0 ? c.Subcommands.Select(s => $"{c.Name} {s.Name}") : [c.Name]);
        Assert.Equal(VerbCatalog.All.Where(v => v.HasCommand).Select(v => v.Name).Order(), commands.Order());
        var magics = Directives().Select(d => d.Name).Where(n => n.StartsWith("#!ckpt-", StringComparison.Ordinal));
        Assert.Equal(VerbCatalog.All.Where(v => v.Magic is not null).Select(v => v.Magic!).Order(), magics.Order());
    }

    /// <summary>A positional option is taken with or without its name on each surface it has: by the CLI as an
    /// argument and an option, by the magic as a parameter with an implicit name.</summary>
    void AssertPositionalsOnBothSurfaces(Verb verb)
    {
        foreach (var o in verb.Options.Where(o => o.Positional))
        {
            if (verb.HasCommand)
            {
                var command = Command(verb);
                Assert.Contains(command.Arguments, a => a.Name == o.PropertyName.ToLowerInvariant());
                Assert.Contains(command.Options, x => x.Name == o.Name);
            }
            if (verb.Magic is not null)
                Assert.Contains(Directive(verb).Parameters, p => p.Name == o.Name && p.AllowImplicitName);
        }
    }

    static RootCommand Root() => Ckpt.Cli.Program.Root(TextWriter.Null, TextWriter.Null);

    static Command Command(Verb verb) =>
        verb.Name.Split(' ').Aggregate((Command)Root(), (parent, word) => parent.Subcommands.Single(c => c.Name == word));

    IEnumerable<KernelActionDirective> Directives() => _harness.Kernel.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>();

    KernelActionDirective Directive(Verb verb) => Directives().Single(d => d.Name == verb.Magic);

    static List<Shape> Cli(Verb verb) =>
        Command(verb).Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal) && o.Name != "--help"
                                         && !verb.Options.Any(v => v.Positional && v.Name == o.Name)).Select(o => new Shape(
            o.Name,
            o.ValueType == typeof(string[]),
            o.ValueType == typeof(bool),
            o.Required,
            o.HasDefaultValue && o.ValueType != typeof(bool) ? o.GetDefaultValue()?.ToString() : null)).ToList();

    List<Shape> Magic(Verb verb)
    {
        var directive = Directive(verb);
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
