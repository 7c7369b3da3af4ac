namespace Ckpt.Extension.Training;

/// <summary>
/// `#!ckpt-finetune --recipe sft|dpo --model &lt;var|path&gt; --data &lt;file.jsonl&gt; [...]`: the options of
/// `ckpt finetune` (<see cref="Ckpt.Training.FineTuningVerb"/>), with a live loss chart. It carries no copy of them:
/// the handler reads the line through <see cref="Directives.VerbDirective"/>.
/// </summary>
public sealed class FineTuningModel : KernelDirectiveCommand;
