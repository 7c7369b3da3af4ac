namespace Ckpt.Extension.Rewriting;

/// <summary>
/// `#!ckpt-finalize &lt;out&gt; [--overwrite]`: the options of `ckpt finalize`, from <see cref="Ckpt.Cluster.FinalizeVerb"/>: commits an
/// output written in parts by cluster processes (or by `--rank r --ranks N` cells). The handler reads the line through
/// <see cref="Directives.VerbDirective"/>.
/// </summary>
public sealed class FinalizeOutput : KernelDirectiveCommand;
