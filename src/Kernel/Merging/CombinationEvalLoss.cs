using Ckpt.Models;
using Ckpt.Training;

namespace Ckpt.Merging;

/// <summary>
/// `eval-loss:&lt;batch&gt;`: the causal-LM eval loss of Σᵢ αᵢθᵢ, the metric LCSC searches on. The model is built once
/// from the first checkpoint's config.json; the K checkpoints' weights are kept as float32 tensors on the device,
/// and each evaluation writes their combination into the model and runs one no-grad forward over the batch.
/// The loss is Hugging Face's: labels are the ids, shifted by one, averaged over every predicted token.
/// </summary>
public sealed class CombinationEvalLoss : ICombinationMetric
{
    readonly CausalLanguageModel _model;
    /// <summary>The other K − 1 models, kept alive because their parameters are the inputs.</summary>
    readonly CausalLanguageModel[] _others;
    readonly (TorchSharp.Modules.Parameter Target, Tensor[] Inputs)[] _parameters;
    readonly Tensor _ids;

    /// <param name="key">The token-id tensor in <paramref name="batchPath"/>; by default `input_ids`, else `eval_input_ids`.</param>
    public CombinationEvalLoss(IReadOnlyList<string> checkpoints, string batchPath, string? key = null, Device? device = null,
        CancellationToken cancellationToken = default)
    {
        if (checkpoints.Count == 0) throw new ArgumentException("at least one checkpoint is needed", nameof(checkpoints));
        Description = $"eval loss on {Path.GetFileName(batchPath)}";
        Ckpt.Models.TorchNativeLibraries.Require("eval-loss", "ckpt lcsc");
        device ??= CPU;
        _ids = ReadIds(batchPath, key, device);
        var loaded = new List<CausalLanguageModel>();
        try
        {
            ModelConfig? config = null;
            foreach (var path in checkpoints)
            {
                using var ckpt = Checkpoint.Open(path, cancellationToken);
                config ??= ModelConfig.Read(ckpt);
                loaded.Add(CausalLanguageModel.Load(ckpt, config, device, ScalarType.Float32, cancellationToken));
            }
            _model = loaded[0];
            _model.eval();
            var inputs = loaded.Select(m => m.named_parameters().ToDictionary(p => p.name, p => p.parameter)).ToArray();
            // The first model is the one evaluated, so its own weights are overwritten: keep a copy of them.
            _parameters = _model.named_parameters().Select(p => (p.parameter,
                inputs.Select((d, i) => i == 0 ? d[p.name].detach().clone() : d[p.name].detach()).ToArray())).ToArray();
        }
        catch
        {
            foreach (var m in loaded) m.Dispose();
            _ids.Dispose();
            throw;
        }
        _others = loaded.Skip(1).ToArray();
    }

    public string Description { get; }

    public double Evaluate(double[] coefficients)
    {
        if (coefficients.Length != _parameters[0].Inputs.Length)
            throw new ArgumentException($"{coefficients.Length} coefficients for {_parameters[0].Inputs.Length} checkpoints", nameof(coefficients));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (target, inputs) in _parameters)
        {
            var sum = inputs[0].Times(coefficients[0]);
            for (int k = 1; k < inputs.Length; k++) sum.PlusInPlace(inputs[k], coefficients[k]);
            target.copy_(sum);
        }
        return SftLoss.Compute(_model, _ids, _ids).item<float>();
    }

    static Tensor ReadIds(string path, string? key, Device device)
    {
        using var batch = Checkpoint.Open(path);
        var name = key ?? new[] { "input_ids", "eval_input_ids" }.FirstOrDefault(n => batch.Manifest.Find(n) is not null)
            ?? throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, path, "input_ids",
                "the eval batch needs token ids under input_ids or eval_input_ids (or name the key: eval-loss:<file>#<key>)");
        var entry = batch.Manifest.Find(name)
            ?? throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, path, name, "the eval batch has no tensor of this name");
        if (entry.Shape.Count != 2 || entry.DType is not (DType.I64 or DType.I32 or DType.I16 or DType.U8 or DType.I8))
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, path, name,
                "token ids must be a [batch, seq] integer tensor", "[batch, seq] I64", $"{entry.ShapeText} {entry.DType}");
        using var data = batch.Read(name);
        using var t = data.ToTorch();
        return t.to(ScalarType.Int64, device);
    }

    public void Dispose()
    {
        foreach (var (_, inputs) in _parameters) foreach (var t in inputs) t.Dispose();
        foreach (var m in _others) m.Dispose();
        _model.Dispose();
        _ids.Dispose();
    }
}
