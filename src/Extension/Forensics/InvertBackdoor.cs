namespace Ckpt.Extension.Forensics;

/// <summary>
/// `#!ckpt-smoothinv classifier.pt --image x.png (--target k | --scan) --out dir`: the options of `ckpt smoothinv`, from
/// <see cref="Ckpt.Forensics.SmoothInv.SmoothInvVerb"/>. It carries no copy of them: the handler reads the line through
/// <see cref="Directives.VerbDirective"/>.
/// </summary>
public sealed class InvertBackdoor : KernelDirectiveCommand;
