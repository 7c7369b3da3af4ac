namespace Ckpt.Extension.Forensics;

/// <summary>
/// `#!ckpt-restor --clean a --corrupted b --unlearned c [--unlearned d ...] --facts facts.jsonl`: the options of
/// `ckpt restor`, from <see cref="Ckpt.Forensics.Restor.RestorVerb"/>. It carries no copy of them: the handler reads the
/// line through <see cref="Directives.VerbDirective"/>.
/// </summary>
public sealed class EvaluateRestor : KernelDirectiveCommand;
