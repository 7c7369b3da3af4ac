namespace Ckpt.Merging;

/// <summary>
/// Checks, from manifests alone, that the inputs of a merge line up before any tensor byte is read:
/// the same tensor names, the same shapes, and compatible dtypes (any floating types mix; other dtypes must
/// be equal). Each failure names the tensor and both inputs.
/// </summary>
internal static class MergeValidation
{
    public static void Check(IReadOnlyList<(string Label, CheckpointManifest Manifest)> inputs)
    {
        if (inputs.Count == 0) return;
        var (refLabel, reference) = inputs[0];
        foreach (var (label, other) in inputs.Skip(1))
        {
            foreach (var t in reference.Tensors)
            {
                var o = other.Find(t.Name) ?? throw Disagree(label, t.Name,
                    $"'{refLabel}' has this tensor and '{label}' does not", expected: $"present in '{label}'", found: "absent");
                if (!t.Shape.SequenceEqual(o.Shape))
                    throw Disagree(label, t.Name, $"its shape differs between '{refLabel}' and '{label}'",
                        expected: $"{t.ShapeText} as in '{refLabel}'", found: o.ShapeText);
                if (t.DType != o.DType && !(t.DType.IsFloatingPoint() && o.DType.IsFloatingPoint()))
                    throw Disagree(label, t.Name, $"its dtype differs between '{refLabel}' and '{label}' and they cannot be mixed",
                        expected: $"{t.DType} as in '{refLabel}'", found: o.DType.ToString());
                if (t.DType.IsFloatingPoint() && !Decodable(o.DType))
                    throw Disagree(label, t.Name, $"its dtype {o.DType} cannot be merged", expected: "F32, BF16, F16, F64 or F8", found: o.DType.ToString());
            }
            foreach (var o in other.Tensors)
                if (reference.Find(o.Name) is null)
                    throw Disagree(label, o.Name, $"'{label}' has this tensor and '{refLabel}' does not",
                        expected: $"present in '{refLabel}'", found: "absent");
        }
    }

    static bool Decodable(DType d) => d is DType.F32 or DType.BF16 or DType.F16 or DType.F64 or DType.F8_E4M3 or DType.F8_E5M2;

    static CheckpointFormatException Disagree(string file, string tensor, string detail, string expected, string found) =>
        new(FormatErrorReason.MergeInputsDisagree, file, tensor, detail, expected, found);
}
