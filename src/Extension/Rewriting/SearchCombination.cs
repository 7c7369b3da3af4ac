namespace Ckpt.Extension.Rewriting;

/// <summary>
/// `#!ckpt-lcsc &lt;folder|glob|a,b,c|a b c&gt; --eval &lt;spec&gt; [...]`: the options of `ckpt lcsc`, from
/// <see cref="Merging.LcscVerb"/>, with a live chart of the search. It carries no copy of them: the handler reads the
/// line through <see cref="Directives.VerbDirective"/>.
/// </summary>
public sealed class SearchCombination : KernelDirectiveCommand;
