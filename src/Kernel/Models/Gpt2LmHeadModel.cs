using TorchSharp.Modules;

namespace Ckpt.Models;

/// <summary>A GPT-2 LayerNorm (`weight`, `bias`).</summary>
public sealed class LayerNorm : NamedModule
{
    readonly double _eps;
    public Parameter Weight { get; }
    public Parameter Bias { get; }

    public LayerNorm(string name, long size, double eps, ScalarType dtype, Device device) : base(name)
    {
        _eps = eps;
        Weight = new Parameter(ones(size, dtype, device), requires_grad: false);
        Bias = new Parameter(zeros(size, dtype, device), requires_grad: false);
        register_parameter("weight", Weight);
        register_parameter("bias", Bias);
    }

    public override Tensor forward(Tensor x) => nn.functional.layer_norm(x, [Weight.shape[0]], Weight, Bias, _eps);
}

/// <summary>GPT-2 attention: c_attn (Conv1D, [in, 3·in]) splits into q|k|v by columns; causal; c_proj.</summary>
public sealed class Gpt2Attention : NamedModule
{
    readonly int _heads;
    public Projection CAttn { get; }
    public Projection CProj { get; }

    public Gpt2Attention(string name, Gpt2Config config, ScalarType dtype, Device device) : base(name)
    {
        _heads = config.NumHeads;
        CAttn = new Projection("c_attn", config.HiddenSize, 3 * config.HiddenSize, true, true, dtype, device);
        CProj = new Projection("c_proj", config.HiddenSize, config.HiddenSize, true, true, dtype, device);
        register_module("c_attn", CAttn);
        register_module("c_proj", CProj);
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <param name="cache">When given, this call's keys and values are appended to it and the queries attend to all of them (incremental decoding).</param>
    public Tensor Forward(Tensor x, Tensor? mask, LayerKeyValues? cache = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], e = x.shape[2], d = e / _heads;
        var qkv = CAttn.forward(x).split(e, 2);
        Tensor Heads(Tensor m) => m.view(b, t, _heads, d).transpose(1, 2);
        Tensor q = Heads(qkv[0]), k = Heads(qkv[1]), v = Heads(qkv[2]);
        long past = cache?.Length ?? 0;
        if (cache is not null) (k, v) = cache.Append(k, v);
        var attended = past > 0 ? CachedAttention.Attend(q, k, v, past)
            : mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
            : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        return CProj.forward(attended.transpose(1, 2).reshape(b, t, e)).MoveToOuterDisposeScope();
    }
}

/// <summary>GPT-2 MLP: c_proj(gelu_new(c_fc(x))).</summary>
public sealed class Gpt2Mlp : NamedModule
{
    public Projection CFc { get; }
    public Projection CProj { get; }

    public Gpt2Mlp(string name, Gpt2Config config, ScalarType dtype, Device device) : base(name)
    {
        CFc = new Projection("c_fc", config.HiddenSize, config.InnerSize, true, true, dtype, device);
        CProj = new Projection("c_proj", config.InnerSize, config.HiddenSize, true, true, dtype, device);
        register_module("c_fc", CFc);
        register_module("c_proj", CProj);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return CProj.forward(GeluNew(CFc.forward(x))).MoveToOuterDisposeScope();
    }

    /// <summary>transformers NewGELUActivation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
    internal static Tensor GeluNew(Tensor x)
    {
        using var scope = NewDisposeScope();
        var inner = x.Plus(x.Power(3).Times(0.044715)).Times(Math.Sqrt(2.0 / Math.PI));
        return x.Times(0.5).mul(inner.tanh().Plus(1.0)).MoveToOuterDisposeScope();
    }
}

/// <summary>One pre-LN GPT-2 block.</summary>
public sealed class Gpt2Block : NamedModule
{
    public LayerNorm Ln1 { get; }
    public Gpt2Attention Attn { get; }
    public LayerNorm Ln2 { get; }
    public Gpt2Mlp Mlp { get; }

    public Gpt2Block(string name, Gpt2Config config, ScalarType dtype, Device device) : base(name)
    {
        Ln1 = new LayerNorm("ln_1", config.HiddenSize, config.LayerNormEps, dtype, device);
        Attn = new Gpt2Attention("attn", config, dtype, device);
        Ln2 = new LayerNorm("ln_2", config.HiddenSize, config.LayerNormEps, dtype, device);
        Mlp = new Gpt2Mlp("mlp", config, dtype, device);
        register_module("ln_1", Ln1);
        register_module("attn", Attn);
        register_module("ln_2", Ln2);
        register_module("mlp", Mlp);
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    public Tensor Forward(Tensor x, Tensor? mask, LayerKeyValues? cache = null)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(Attn.Forward(Ln1.forward(x), mask, cache));
        return h.Plus(Mlp.forward(Ln2.forward(h))).MoveToOuterDisposeScope();
    }
}

/// <summary>HF `GPT2Model` (registered as `transformer`).</summary>
public sealed class Gpt2Model : NamedModule
{
    public Parameter Wte { get; }
    public Parameter Wpe { get; }
    public ModuleList<Gpt2Block> H { get; }
    public LayerNorm LnF { get; }

    public Gpt2Model(string name, Gpt2Config config, ScalarType dtype, Device device) : base(name)
    {
        var wte = new WeightMatrix(config.VocabSize, config.HiddenSize, dtype, device);
        var wpe = new WeightMatrix(config.MaxPositions, config.HiddenSize, dtype, device);
        Wte = wte.Weight;
        Wpe = wpe.Weight;
        H = new ModuleList<Gpt2Block>();
        for (int i = 0; i < config.NumLayers; i++) H.Add(new Gpt2Block($"{i}", config, dtype, device));
        LnF = new LayerNorm("ln_f", config.HiddenSize, config.LayerNormEps, dtype, device);
        register_module("wte", wte);
        register_module("wpe", wpe);
        register_module("h", H);
        register_module("ln_f", LnF);
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("Gpt2LmHeadModel.Forward runs the stack");
}

/// <summary>HF `GPT2LMHeadModel`: learned positions, pre-LN blocks, lm_head tied to wte.</summary>
public sealed class Gpt2LmHeadModel : CausalLanguageModel
{
    public Gpt2Model Transformer { get; }
    public Parameter? LmHead { get; }

    public Gpt2LmHeadModel(Gpt2Config config, ScalarType dtype, Device device) : base("GPT2LMHeadModel", config, dtype, device)
    {
        Transformer = new Gpt2Model("transformer", config, dtype, device);
        register_module("transformer", Transformer);
        LmHead = RegisterLmHead();
    }

    public override Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null)
    {
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        var ids = inputIds.reshape(-1).to(Device);
        var positions = positionIds is null
            ? Transformer.Wpe.index_select(0, KeptScalars.Arange(t, ScalarType.Int64, Device))
            : Transformer.Wpe.index_select(0, positionIds.reshape(-1).to(Device)).view(b, t, -1);
        var h = Transformer.Wte.index_select(0, ids).view(b, t, -1).Plus(positions);
        var mask = attentionMask is null ? null : AttentionMask(t, attentionMask, Device);
        bool masked = mask is not null;
        foreach (var block in Transformer.H) h = Layer((x, c) => block.Forward(x, masked ? c[0] : null), h, mask);
        h = Transformer.LnF.forward(h);
        return nn.functional.linear(h, LmHead ?? Transformer.Wte).MoveToOuterDisposeScope();
    }

    public override Tensor Forward(Tensor inputIds, KeyValueCache cache)
    {
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        // Learned positions continue from the cached tokens'.
        var positions = Transformer.Wpe.index_select(0, KeptScalars.Arange(cache.Length, cache.Length + t, ScalarType.Int64, Device));
        var h = Transformer.Wte.index_select(0, inputIds.reshape(-1).to(Device)).view(b, t, -1).Plus(positions);
        for (int i = 0; i < Transformer.H.Count; i++) h = Transformer.H[i].Forward(h, null, cache[i]);
        h = Transformer.LnF.forward(h);
        return nn.functional.linear(h, LmHead ?? Transformer.Wte).MoveToOuterDisposeScope();
    }
}
