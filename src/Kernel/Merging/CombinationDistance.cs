namespace Ckpt.Merging;

/// <summary>
/// `mse:&lt;target&gt;`: the mean squared difference, over every floating element, between Σᵢ αᵢθᵢ and a target
/// checkpoint. All K checkpoints and the target are held as float32 arrays (K + 1 copies of the model).
/// </summary>
public sealed class CombinationDistance : ICombinationMetric
{
    readonly float[][][] _inputs;   // [tensor][checkpoint][element]
    readonly float[][] _target;
    readonly long _elements;

    public CombinationDistance(IReadOnlyList<string> checkpoints, string target, CancellationToken cancellationToken = default)
    {
        Description = $"mean squared difference to {Path.GetFileName(target.TrimEnd('/', '\\'))}";
        using var t = Checkpoint.Open(target, cancellationToken);
        var opened = checkpoints.Select(p => Checkpoint.Open(p, cancellationToken)).ToArray();
        try
        {
            var names = opened[0].Manifest.Tensors.Where(e => e.DType.IsFloatingPoint()).ToArray();
            _inputs = new float[names.Length][][];
            _target = new float[names.Length][];
            for (int i = 0; i < names.Length; i++)
            {
                var entry = names[i];
                _inputs[i] = opened.Select(c => Floats(c, entry, cancellationToken)).ToArray();
                _target[i] = Floats(t, entry, cancellationToken);
                _elements += _target[i].Length;
            }
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
    }

    public string Description { get; }

    public double Evaluate(double[] coefficients)
    {
        double sum = 0;
        for (int i = 0; i < _target.Length; i++)
        {
            var target = _target[i];
            var inputs = _inputs[i];
            for (int e = 0; e < target.Length; e++)
            {
                double x = 0;
                for (int k = 0; k < inputs.Length; k++) x += coefficients[k] * inputs[k][e];
                double d = x - target[e];
                sum += d * d;
            }
        }
        return _elements == 0 ? 0 : sum / _elements;
    }

    static float[] Floats(Checkpoint c, TensorEntry like, CancellationToken cancellationToken)
    {
        var entry = c.Manifest.Find(like.Name)
            ?? throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, c.Path, like.Name, "every checkpoint combined must hold this tensor");
        if (!entry.Shape.SequenceEqual(like.Shape))
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, c.Path, like.Name, "the checkpoints disagree on this tensor's shape",
                Shapes.Format(like.Shape), Shapes.Format(entry.Shape));
        using var data = c.Read(like.Name, cancellationToken: cancellationToken);
        return data.ToFloats();
    }

    public void Dispose() { }
}
