namespace Ckpt.Extension.Rewriting;

/// <summary>
/// `#!ckpt-reshard &lt;path&gt; --world-size N [...] [--out dir]`: the options of `ckpt reshard` (without --out it only plans), from <see cref="Ckpt.Resharding.ReshardVerb"/>. It carries
/// no copy of them: the handler reads the line through <see cref="Directives.VerbDirective"/>.
/// </summary>
public sealed class ReshardCheckpoint : KernelDirectiveCommand;
