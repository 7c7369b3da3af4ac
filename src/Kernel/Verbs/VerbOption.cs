namespace Ckpt.Verbs;

/// <summary>What an option's value is, so both surfaces refuse `--steps ten` with the same sentence.</summary>
public enum OptionKind { Text, Path, Integer, Number, Flag }

/// <summary>Which surfaces show an option: most show on both; `--json` is for the terminal, `--name` for a notebook.</summary>
public enum OptionSurface { Both, CliOnly, MagicOnly }

/// <summary>
/// One option of a verb, declared once in Kernel: the CLI command and the magic directive are both built from it
/// (src/Cli/Commands/VerbCommand.cs, src/Extension/Directives/VerbDirective.cs), and <see cref="VerbValues"/> reads
/// its raw text back with its default and kind, so a name, a help line or a default cannot differ between them.
/// </summary>
/// <param name="Name">With its dashes: `--lora-r`.</param>
/// <param name="Help">One sentence, without the default (each surface shows <see cref="Default"/> its own way).</param>
public sealed record VerbOption(string Name, string Help, OptionKind Kind = OptionKind.Text)
{
    /// <summary>The default as the user would type it; null when there is none (the option is then absent).</summary>
    public string? Default { get; init; }

    /// <summary>Given more than once, every value is kept (`--model a --model b`); otherwise once at most.</summary>
    public bool Many { get; init; }

    public bool Required { get; init; }

    /// <summary>The values may also be given without the option's name (`ckpt inspect path`).</summary>
    public bool Positional { get; init; }

    /// <summary>What a positional value is, for the magic's count sentence: "checkpoint".</summary>
    public string? Noun { get; init; }

    /// <summary>How many values a <see cref="Many"/> option takes when the count is fixed (`#!ckpt-diff a b`: 2); its
    /// <see cref="Noun"/> then says them all ("two checkpoints").</summary>
    public int? Exactly { get; init; }

    public OptionSurface Surface { get; init; } = OptionSurface.Both;

    /// <summary>The values a <see cref="OptionKind.Text"/> option takes, where it is one of a few (`--recipe`: sft, dpo,
    /// ...), read without regard to case or surrounding spaces; null for free text.</summary>
    public IReadOnlyList<string>? Choices { get; init; }

    public bool Flag => Kind == OptionKind.Flag;

    /// <summary>The name without its dashes and in PascalCase, as a property would be named: `LoraR`.</summary>
    public string PropertyName => string.Concat(Name.TrimStart('-').Split('-').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));

    /// <summary>`--json`, shown by the CLI only: <paramref name="help"/> says what the command prints instead of its text.</summary>
    public static VerbOption CliJson(string help) => new("--json", help, OptionKind.Flag) { Surface = OptionSurface.CliOnly };

    /// <summary>`--name`, shown by the magic only: the C# variable the result is bound to.</summary>
    public static VerbOption MagicName(string help = "Bind the result to this C# variable.") => new("--name", help) { Surface = OptionSurface.MagicOnly };

    /// <summary>The help with its default, for a surface that has no default column.</summary>
    public string HelpWithDefault => Default is null ? Help : $"{Help.TrimEnd('.')} (default {Default}).";
}
