namespace Ckpt.Merging;

/// <summary>Σ wᵢθᵢ, divided by Σ wᵢ when normalised (mergekit `linear`; model soups).</summary>
internal sealed class LinearMerge(double[] weights, bool normalize) : TensorMerge
{
    readonly double _scale = normalize ? 1.0 / weights.Sum() : 1.0;

    public override void Combine(MergeChunk chunk, float[] output, int start, int end)
    {
        for (int j = start; j < end; j++)
        {
            double acc = 0;
            for (int i = 0; i < weights.Length; i++) acc += weights[i] * chunk.Models[i][j];
            output[j] = (float)(acc * _scale);
        }
    }
}
