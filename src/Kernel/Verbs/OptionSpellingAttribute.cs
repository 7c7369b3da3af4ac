namespace Ckpt.Verbs;

/// <summary>
/// Another spelling an enum-typed option accepts for this member, besides its lower-case name: HF's
/// `constant_with_warmup` for <see cref="Training.LrSchedule.Constant"/>. The refusal sentence and
/// <see cref="VerbOption.Choices"/> name only the lower-case names, one per value.
/// </summary>
[AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
public sealed class OptionSpellingAttribute(string spelling) : Attribute
{
    public string Spelling { get; } = spelling;
}
