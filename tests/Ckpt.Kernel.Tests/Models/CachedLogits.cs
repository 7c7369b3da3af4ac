using Ckpt.Models;
using static TorchSharp.torch;

namespace Ckpt.Tests.Models;

static class CachedLogits
{
    /// <summary>
    /// The largest difference between the logits a cached decode kept at each step and those a full forward of the
    /// prompt and generated tokens gives at the same positions.
    /// </summary>
    public static double WorstDifferenceFromFullForward(CausalLanguageModel model, IReadOnlyList<int> prompt, GeneratedSequence generated,
        ScalarType? fullForwardDType = null)
    {
        using var noGrad = no_grad();
        using var ids = tensor(prompt.Concat(generated.Tokens[..^1]).Select(i => (long)i).ToArray()).view(1, -1);
        using var forward = model.Forward(ids);
        using var full = fullForwardDType is ScalarType t ? forward.to(t) : forward.alias();
        double worst = 0;
        for (int step = 0; step < generated.Tokens.Length; step++)
        {
            using var expected = full.select(0, 0).select(0, prompt.Count - 1 + step);
            using var cached = tensor(generated.Logits![step]);
            worst = Math.Max(worst, ReferenceTensors.MaxAbsDiff(cached, expected));
        }
        return worst;
    }
}
