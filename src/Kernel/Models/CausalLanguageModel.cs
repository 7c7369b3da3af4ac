using TorchSharp.Modules;

namespace Ckpt.Models;

/// <summary>
/// A decoder-only language model whose parameter names are the HF ones (`model.layers.0.self_attn.q_proj.weight`,
/// `transformer.h.0.attn.c_attn.weight`), so weights load from and save to any checkpoint by name.
/// </summary>
public abstract class CausalLanguageModel : NamedModule
{
    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }

    protected CausalLanguageModel(string name, ModelConfig config, ScalarType dtype, Device device) : base(name)
    {
        Config = config;
        DType = dtype;
        Device = device;
    }

    /// <summary>
    /// Registers `lm_head` (after the body, as HF's modules are ordered) unless the config ties it to the token
    /// embedding; returns its weight, or null when tied.
    /// </summary>
    protected Parameter? RegisterLmHead()
    {
        if (Config.TieWordEmbeddings) return null;
        var head = new WeightMatrix(Config.VocabSize, Config.HiddenSize, DType, Device);
        register_module("lm_head", head);
        return head.Weight;
    }

    /// <summary>Logits [batch, seq, vocab] for <paramref name="inputIds"/> [batch, seq] (int64).</summary>
    /// <param name="attentionMask">
    /// [batch, seq], 1 for real tokens and 0 for padding; null when nothing is padded. Packed rows number their examples
    /// instead (1, 2, … per row, 0 for padding): a token then attends only to the earlier tokens of its own example.
    /// </param>
    /// <param name="positionIds">[batch, seq] positions (HF position_ids), restarting at 0 for each example of a packed row; null is 0, 1, 2, … in every row.</param>
    public abstract Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null);

    public override Tensor forward(Tensor inputIds) => Forward(inputIds);

    /// <summary>
    /// Logits [batch, new, vocab] for the tokens that follow those already in <paramref name="cache"/> (positions
    /// continue from <see cref="KeyValueCache.Length"/>); their keys and values are appended to it. Unpadded rows only.
    /// </summary>
    public abstract Tensor Forward(Tensor inputIds, KeyValueCache cache);

    /// <summary>An empty cache with one slot per decoder layer.</summary>
    public KeyValueCache NewCache() => new(Config.NumLayers);

    /// <summary>
    /// HF's gradient_checkpointing_enable: while gradients are recorded, each decoder layer keeps only its input and is
    /// recomputed in backward (<see cref="ActivationCheckpoint"/>), trading one more forward for the layers' activations.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Where a checkpointed layer's dropout draws from, replayed when it is recomputed; null when nothing random runs.</summary>
    public IRandomStateKeeper? CheckpointRandom { get; set; }

    /// <summary>
    /// One decoder layer on <paramref name="h"/> and its <paramref name="constants"/>, checkpointed when
    /// <see cref="GradientCheckpointing"/> is on and gradients are recorded.
    /// </summary>
    protected Tensor Layer(Func<Tensor, IReadOnlyList<Tensor>, Tensor> layer, Tensor h, params Tensor?[] constants)
    {
        var present = constants.OfType<Tensor>().ToArray();
        if (!GradientCheckpointing || !is_grad_enabled()) return layer(h, present);
        // A caller that did not look after its backward learns of a failed recompute here, not from wrong adapters.
        ThrowIfBackwardFailed();
        // The embedding is frozen, so the first layer's input records no graph, and a function none of whose inputs
        // needs a gradient is never back-propagated (PEFT's enable_input_require_grads answers the same problem).
        if (!h.requires_grad) h = h.detach().requires_grad_(true);
        return ActivationCheckpoint.Run(layer, h, present, CheckpointRandom, BackwardFailure);
    }

    /// <summary>Where the backwards of this model's autograd functions (checkpointed layers, NF4 bases) record an exception.</summary>
    internal BackwardFailure BackwardFailure { get; } = new();

    /// <summary>
    /// Rethrows what a checkpointed layer's recompute or a QLoRA base's backward met in the last backward (which cannot
    /// throw, see <see cref="Models.BackwardFailure"/>); call it after each backward.
    /// </summary>
    public void ThrowIfBackwardFailed() => BackwardFailure.ThrowIfAny();

    /// <summary>The linear layers an adapter can target, by their HF path (`model.layers.0.self_attn.q_proj`).</summary>
    public IEnumerable<(string Path, Projection Layer)> Projections() =>
        named_modules().Where(m => m.module is Projection).Select(m => (m.name, (Projection)m.module));

    /// <summary>Builds the model <paramref name="config"/> describes (read from the checkpoint's config.json when null) and loads its weights.</summary>
    /// <param name="dtype">Compute dtype; null keeps the checkpoint's (the embedding's dtype), so bf16 stays bf16.</param>
    public static CausalLanguageModel Load(Checkpoint checkpoint, ModelConfig? config = null, Device? device = null,
        ScalarType? dtype = null, CancellationToken cancellationToken = default)
    {
        config ??= ModelConfig.Read(checkpoint);
        device ??= CPU;
        var model = Create(config, dtype ?? SavedDType(checkpoint, config), device);
        try
        {
            WeightLoader.Load(model, checkpoint, cancellationToken);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>An uninitialised model of the given architecture (weights are empty until loaded).</summary>
    public static CausalLanguageModel Create(ModelConfig config, ScalarType dtype, Device device) => config switch
    {
        LlamaConfig llama => new LlamaForCausalLm(llama, dtype, device),
        Gpt2Config gpt2 => new Gpt2LmHeadModel(gpt2, dtype, device),
        _ => throw new ArgumentException($"no model for {config.GetType().Name}", nameof(config)),
    };

    static ScalarType SavedDType(Checkpoint checkpoint, ModelConfig config)
    {
        var probe = config is Gpt2Config ? "wte.weight" : "embed_tokens.weight";
        var entry = checkpoint.Manifest.Tensors.FirstOrDefault(t => t.Name.EndsWith(probe, StringComparison.Ordinal))
            ?? throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, checkpoint.Path, probe,
                "the checkpoint has no token embedding, so it is not a causal LM of this kind");
        return Tensors.TorchInterop.TryGetScalarType(entry.DType, out var s) && s is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64
            ? s : ScalarType.Float32;
    }

    protected static Parameter FrozenParameter(long[] shape, ScalarType dtype, Device device) =>
        new(empty(shape, dtype, device), requires_grad: false);

    /// <summary>
    /// Bool mask [batch or 1, 1, seq, seq]: causal, hiding padded keys, and block-diagonal over the examples a packed
    /// row numbers (a query sees keys of its own example only). A 0/1 mask is the one-example case. Padding queries
    /// keep every earlier real key, as with plain padding, so no row of the softmax is empty (which would be NaN).
    /// </summary>
    internal static Tensor AttentionMask(long seq, Tensor? attentionMask, Device device)
    {
        using var scope = NewDisposeScope();
        var causal = ones(seq, seq, ScalarType.Bool, device).tril();
        var mask = causal.view(1, 1, seq, seq);
        if (attentionMask is not null)
        {
            var example = attentionMask.to(ScalarType.Int64, device);
            long b = attentionMask.shape[0];
            var keys = example.view(b, 1, 1, seq);
            var queries = example.view(b, 1, seq, 1);
            var sameExample = keys.eq(queries).logical_or(queries.EqualTo(0L));
            mask = mask.logical_and(keys.NotEqualTo(0L)).logical_and(sameExample);
        }
        return mask.MoveToOuterDisposeScope();
    }
}
