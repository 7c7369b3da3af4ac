namespace Ckpt.Extension.Rewriting;

/// <summary>
/// `#!ckpt-merge --method m --model a[:w] --model b[:w] ... --out dir`: the options of `ckpt merge`, from <see cref="Ckpt.Merging.MergeVerb"/>. It carries
/// no copy of them: the handler reads the line through <see cref="Directives.VerbDirective"/>.
/// </summary>
public sealed class MergeCheckpoints : KernelDirectiveCommand;
