namespace Ckpt.Extension.Visualisation;

/// <summary>`#!ckpt-layout &lt;var|path&gt; [--tensor glob]`: shard layout charts of a checkpoint; reads no tensor bytes.</summary>
public sealed class ShowLayout : KernelDirectiveCommand
{
    /// <summary>A C# variable holding a <see cref="Checkpoint"/>, or a checkpoint file or folder.</summary>
    public string Checkpoint { get; set; } = "";

    /// <summary>Tensor name glob (`model.layers.0.**`); all tensors when empty.</summary>
    public string? Tensor { get; set; }
}

/// <summary>`#!ckpt-diff &lt;a&gt; &lt;b&gt; [--tensor glob]`: structural and numeric change between two checkpoints.</summary>
public sealed class DiffCheckpoints : KernelDirectiveCommand
{
    /// <summary>
    /// Bound only when one value is given (the binder writes a lone value as a string and none of two); the handler
    /// reads the base checkpoint and the one compared with it from the line (<see cref="DirectivePositionals"/>).
    /// </summary>
    public string? Checkpoints { get; set; }
    public string? Tensor { get; set; }
}

/// <summary>`#!ckpt-stats &lt;var|path&gt; &lt;tensor&gt; [--bins n]`: statistics and histogram of one tensor, reading only it.</summary>
public sealed class ShowTensorStatistics : KernelDirectiveCommand
{
    /// <summary>
    /// Bound only when one value is given; the handler reads the checkpoint (C# variable or path), then the tensor's
    /// full name, from the line (<see cref="DirectivePositionals"/>).
    /// </summary>
    public string? Checkpoint { get; set; }
    public int? Bins { get; set; }
}

/// <summary>`#!ckpt-timeline [var]`: Gantt chart of the last load/read/diff/stats operation (of that checkpoint, when named).</summary>
public sealed class ShowTimeline : KernelDirectiveCommand
{
    public string? Checkpoint { get; set; }
}

/// <summary>`#!ckpt-recovery &lt;var&gt;`: loss curves of a failure-recovery experiment (a variable holding an <c>IRecoveryChart</c>, such as samples/CheckFree's <c>CheckFreeExperimentResult</c>).</summary>
public sealed class ShowRecovery : KernelDirectiveCommand
{
    public string Result { get; set; } = "";
}
