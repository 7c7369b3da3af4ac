namespace Ckpt.Inspection;

/// <summary>The result of <see cref="CheckpointDiff.Compare"/>.</summary>
public sealed record DiffReport(
    string PathA,
    string PathB,
    IReadOnlyList<TensorSummary> Added,
    IReadOnlyList<TensorSummary> Removed,
    IReadOnlyList<ShapeChange> Reshaped,
    IReadOnlyList<ShapeChange> DTypeChanged,
    IReadOnlyList<TensorChange> Changes,
    IReadOnlyList<LayerChange> Layers)
{
    /// <summary>A relative L2 or max |Δ| as every surface writes it (four significant figures; <see cref="ChangeText"/>).</summary>
    public static string NumberText(double value) => ChangeText.Format(value);
}

public sealed record TensorSummary(string Name, string DType, IReadOnlyList<long> Shape)
{
    internal static TensorSummary Of(TensorEntry t) => new(t.Name, t.DType.ToString(), t.Shape);
}

public sealed record ShapeChange(string Name, string DTypeA, string DTypeB, IReadOnlyList<long> ShapeA, IReadOnlyList<long> ShapeB);

/// <summary>Change of one tensor present in both with the same shape. <see cref="RelativeL2"/> is ‖b−a‖/‖a‖ (∞ when a is zero and b is not).</summary>
public sealed record TensorChange(string Name, long Elements, double NormA, double NormDiff, double MaxAbsDiff)
{
    public double RelativeL2 => NormA > 0 ? NormDiff / NormA : NormDiff == 0 ? 0 : double.PositiveInfinity;
}

/// <summary>Tensors of one layer pooled: relative L2 of the layer's concatenated parameters.</summary>
public sealed record LayerChange(string Layer, int Tensors, double NormA, double NormDiff, double MaxAbsDiff)
{
    public double RelativeL2 => NormA > 0 ? NormDiff / NormA : NormDiff == 0 ? 0 : double.PositiveInfinity;
}
