using Ckpt.Models;
using Ckpt.Tests.Models;
using Ckpt.Training;
using Ckpt.Training.Data;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>
/// Exact SFT packing: a packed row (several whole examples, block-diagonal causal mask, positions restarting per example)
/// gives every completion token the loss it has unpacked, so the packed run trains as the unpacked run of the same
/// examples does, on LLaMA (RoPE) and GPT-2 (learned positions).
/// </summary>
public sealed class PackingTests(ITestOutputHelper output) : IDisposable
{
    const int MaxLength = 128;
    readonly string _dir = TestPaths.TempDirectory("packing");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    string P(string name) => Path.Combine(_dir, name);

    string RandomModel(string architecture) =>
        architecture == "llama" ? FineTuningFixtures.RandomLlama(P("llama")) : FineTuningFixtures.RandomGpt2(P("gpt2"));

    static string[] Targets(string architecture) =>
        architecture == "llama" ? FineTuningFixtures.LlamaLinear : FineTuningFixtures.Gpt2Linear;

    /// <summary>The first <paramref name="count"/> packed rows of varied-length data and their examples in row order.</summary>
    (List<IReadOnlyList<SftExample>> Rows, List<SftExample> Flat) PackedRows(int count)
    {
        var (examples, _) = TrainingData.ReadSft(FineTuningFixtures.VariedIds(P("varied.jsonl"), 40), null, maxLength: MaxLength);
        var packed = SequencePacking.BestFitDecreasing(examples.Select(e => e.Prompt.Length + e.Completion.Length).ToList(), MaxLength);
        var rows = packed.Take(count).Select(r => (IReadOnlyList<SftExample>)r.Select(i => examples[i]).ToList()).ToList();
        Assert.All(rows, r => Assert.True(r.Count >= 2, "each compared row holds several examples"));
        return (rows, rows.SelectMany(r => r).ToList());
    }

    /// <summary>The model with LoRA on all its linear layers and B drawn non-zero, so the adapters change the logits and both A and B get gradients.</summary>
    static CausalLanguageModel ModelWithAdapters(string folder, string architecture)
    {
        using var checkpoint = Checkpoint.Open(folder);
        var model = CausalLanguageModel.Load(checkpoint);
        PeftLora.Attach(model, new LoraConfig { R = 4, Alpha = 8, TargetModules = Targets(architecture), FanInFanOut = architecture == "gpt2" }, seed: 5);
        using (no_grad())
            foreach (var (_, layer) in model.Projections())
                if (layer.Adapter is LoraAdapter adapter)
                {
                    using var b = randn(adapter.B.Weight.shape).mul(0.05);
                    adapter.B.Weight.copy_(b);
                }
        model.train();
        return model;
    }

    /// <summary>The summed completion-token loss (as the recipe backpropagates it) and the adapters' gradients.</summary>
    static (double Loss, List<Tensor> Grads) LossAndGrads(CausalLanguageModel model, TrainingBatch batch, Tensor? mask, Tensor? positions)
    {
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        foreach (var p in parameters) p.grad?.zero_();
        var (sum, _) = SftLoss.SummedTokenLoss(model, batch.Ids, batch.Labels, mask, positions);
        using var loss = sum.div(batch.CompletionTokens);
        loss.backward();
        sum.Dispose();
        return (loss.item<float>(), parameters.Select(p => p.grad!.clone()).ToList());
    }

    static double MaxAbsDiff(List<Tensor> a, List<Tensor> b) => a.Zip(b).Max(x => x.First.sub(x.Second).abs().max().item<float>());

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void A_packed_batch_gives_the_unpacked_loss_and_adapter_gradients_within_1e_5(string architecture)
    {
        var (rows, flat) = PackedRows(3);
        using var model = ModelWithAdapters(RandomModel(architecture), architecture);
        using var packed = TrainingBatch.Packed(rows, 0, CPU);
        using var unpacked = TrainingBatch.Sft(flat, 0, CPU);
        Assert.Equal(unpacked.Tokens, packed.Tokens);
        Assert.Equal(unpacked.CompletionTokens, packed.CompletionTokens);
        Assert.Equal(flat.Count, packed.Examples);
        Assert.Equal(3, packed.Ids.shape[0]);

        var (packedLoss, packedGrads) = LossAndGrads(model, packed, packed.AttentionMask, packed.PositionIds);
        var (loss, grads) = LossAndGrads(model, unpacked, unpacked.AttentionMask, null);
        double gradDiff = MaxAbsDiff(packedGrads, grads), gradScale = grads.Max(g => g.abs().max().item<float>());
        output.WriteLine($"{architecture}: {flat.Count} examples in 3 packed rows of {packed.Ids.shape[1]} (unpacked {unpacked.Ids.shape[0]} x {unpacked.Ids.shape[1]}); " +
            $"loss {packedLoss:F7} vs {loss:F7}; max |Δgrad| {gradDiff:E2} of max |grad| {gradScale:E2}");
        Assert.Equal(loss, packedLoss, 1e-5);
        Assert.True(gradDiff < 1e-5, $"max |Δgrad| {gradDiff}");
        Assert.True(gradScale > 1e-3);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void A_packed_row_without_the_block_diagonal_mask_gives_a_different_loss(string architecture)
    {
        // The equivalence above can fail: letting each example see the ones before it in its row changes the loss.
        var (rows, flat) = PackedRows(3);
        using var model = ModelWithAdapters(RandomModel(architecture), architecture);
        using var packed = TrainingBatch.Packed(rows, 0, CPU);
        using var unpacked = TrainingBatch.Sft(flat, 0, CPU);
        using var paddingOnly = packed.AttentionMask!.ne(0L).to(ScalarType.Int64);
        var (leaky, _) = LossAndGrads(model, packed, paddingOnly, packed.PositionIds);
        var (loss, _) = LossAndGrads(model, unpacked, unpacked.AttentionMask, null);
        output.WriteLine($"{architecture}: loss with a padding-only mask {leaky:F5}, unpacked {loss:F5}");
        Assert.True(Math.Abs(leaky - loss) > 1e-2, $"{leaky} vs {loss}");
    }

    [Fact]
    public void A_packed_gpt2_row_without_restarting_positions_gives_a_different_loss()
    {
        // GPT-2's positions are learned absolute embeddings, so each example must start again at position 0. (LLaMA's RoPE
        // scores depend on q-k distances only, so under the block-diagonal mask an offset changes its loss by rounding alone.)
        var (rows, flat) = PackedRows(3);
        using var model = ModelWithAdapters(RandomModel("gpt2"), "gpt2");
        using var packed = TrainingBatch.Packed(rows, 0, CPU);
        using var unpacked = TrainingBatch.Sft(flat, 0, CPU);
        var (continued, _) = LossAndGrads(model, packed, packed.AttentionMask, null);
        var (loss, _) = LossAndGrads(model, unpacked, unpacked.AttentionMask, null);
        output.WriteLine($"gpt2: loss with positions 0..T-1 per row {continued:F5}, unpacked {loss:F5}");
        Assert.True(Math.Abs(continued - loss) > 1e-2, $"{continued} vs {loss}");
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void Edge_rows_a_lone_example_of_exactly_max_length_and_examples_of_one_token_pack_exactly(string architecture)
    {
        // Rows of different lengths in one batch: a row that is one example filling max length (no padding, mask all 1,
        // positions up to max length − 1), and a short row of one- and two-token examples, each a block of its own.
        var random = new Random(3);
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => random.Next(3, 500)).ToArray();
        var full = new SftExample(Ids(40), Ids(MaxLength - 40));
        SftExample[] tiny = [new([], Ids(1)), new(Ids(1), []), new(Ids(1), Ids(1)), new([], Ids(2)), new(Ids(5), Ids(4))];
        using var model = ModelWithAdapters(RandomModel(architecture), architecture);
        using var packed = TrainingBatch.Packed([[full], tiny], 0, CPU);
        using var unpacked = TrainingBatch.Sft([full, .. tiny], 0, CPU);
        Assert.Equal(MaxLength, packed.Ids.shape[1]);
        Assert.Equal(unpacked.CompletionTokens, packed.CompletionTokens);
        var (packedLoss, packedGrads) = LossAndGrads(model, packed, packed.AttentionMask, packed.PositionIds);
        var (loss, grads) = LossAndGrads(model, unpacked, unpacked.AttentionMask, null);
        double gradDiff = MaxAbsDiff(packedGrads, grads);
        output.WriteLine($"{architecture}: loss {packedLoss:F7} packed vs {loss:F7}; max |Δgrad| {gradDiff:E2}");
        Assert.Equal(loss, packedLoss, 1e-5);
        Assert.True(gradDiff < 1e-5, $"max |Δgrad| {gradDiff}");
    }

    [Fact]
    public void A_packed_row_numbers_its_examples_restarts_positions_and_labels_no_example_start()
    {
        SftExample a = new([1, 7, 8], [9, 2]), b = new([], [5, 6, 2]), c = new([1, 4], [3, 2]);
        using var batch = TrainingBatch.Packed([[a, b], [c]], padId: 0, CPU);
        Assert.Equal(new long[] { 1, 7, 8, 9, 2, 5, 6, 2, 1, 4, 3, 2, 0, 0, 0, 0 }, batch.Ids.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0 }, batch.AttentionMask!.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 2, 3, 0, 0, 0, 0 }, batch.PositionIds!.data<long>().ToArray());
        // b has no prompt: its first token follows a's EOS in the row, which must not be asked to predict it.
        Assert.Equal(new long[] { -100, -100, -100, 9, 2, -100, 6, 2, -100, -100, 3, 2, -100, -100, -100, -100 }, batch.Labels.data<long>().ToArray());
        using var unpacked = TrainingBatch.Sft([a, b, c], 0, CPU);
        Assert.Equal(unpacked.CompletionTokens, batch.CompletionTokens);
        Assert.Equal(6, batch.CompletionTokens);
        Assert.Equal(12, batch.Tokens);
    }

    FineTuningOptions Options(string architecture, string model, string data, string outDir) => new()
    {
        Recipe = Recipe.Sft, Model = model, Data = data, Output = outDir, Steps = 4, BatchSize = 2, GradientAccumulation = 2,
        MaxLength = MaxLength, Packing = true, LearningRate = 1e-2, LoraR = 4, LoraAlpha = 8, LoraTargets = Targets(architecture), Threads = 1,
    };

    [Trait("Category", "slow")]
    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void Packed_sft_trains_as_the_unpacked_run_of_the_same_examples_in_the_same_order_within_1e_5(string architecture)
    {
        var model = RandomModel(architecture);
        var data = FineTuningFixtures.VariedIds(P("varied.jsonl"), 48);
        var packedSteps = new List<TrainingProgress>();
        var unpackedSteps = new List<TrainingProgress>();
        var packed = FineTuning.Run(Options(architecture, model, data, P("packed")), new Collect(packedSteps.Add));
        FineTuning.Run(Options(architecture, model, data, P("unpacked")) with { UnpackPackedRows = true }, new Collect(unpackedSteps.Add));

        output.WriteLine($"{architecture}: 48 examples in {packed.PackedRows} rows");
        Assert.True(packed.PackedRows < 48 / 2, $"{packed.PackedRows} rows");
        Assert.Equal(4, packedSteps.Count);
        for (int i = 0; i < 4; i++)
        {
            output.WriteLine($"step {i + 1}: loss {packedSteps[i].Loss:F7} vs {unpackedSteps[i].Loss:F7}, grad norm {packedSteps[i].GradNorm:F7} vs {unpackedSteps[i].GradNorm:F7}");
            Assert.Equal(unpackedSteps[i].Tokens, packedSteps[i].Tokens);
            Assert.Equal(unpackedSteps[i].Loss, packedSteps[i].Loss, 1e-5);
            Assert.Equal(unpackedSteps[i].GradNorm, packedSteps[i].GradNorm, 1e-5);
        }
        Assert.True(packedSteps[^1].Loss < packedSteps[0].Loss);
        output.WriteLine($"padding tokens over 4 steps: packed {packedSteps.Sum(s => s.PaddingTokens)}, unpacked {unpackedSteps.Sum(s => s.PaddingTokens)}");
        Assert.True(packedSteps.Sum(s => s.PaddingTokens) < unpackedSteps.Sum(s => s.PaddingTokens));

        using var a = Adapter(P("packed"));
        using var b = Adapter(P("unpacked"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        double diff = a.Keys.Max(k => ReferenceTensors.MaxAbsDiff(a[k], b[k]));
        output.WriteLine($"adapters after 4 steps: {a.Count} tensors, max |Δ| {diff:E2}");
        Assert.True(diff < 1e-5, $"max |Δ| {diff}");
    }

    [Fact]
    public void A_config_whose_pad_id_is_minus_one_pads_with_an_id_the_embedding_can_look_up()
    {
        // Early HF LLaMA conversions write "pad_token_id": -1; padding is masked and unlabelled, so any id in the vocabulary will do.
        var model = RandomModel("llama");
        var config = Path.Combine(model, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        json["pad_token_id"] = -1;
        File.WriteAllText(config, json.ToJsonString());
        var steps = new List<TrainingProgress>();
        FineTuning.Run(Options("llama", model, FineTuningFixtures.VariedIds(P("varied.jsonl"), 16), P("out")) with { Steps = 1 }, new Collect(steps.Add));
        Assert.True(steps[0].PaddingTokens > 0, "the step's rows were padded");
        Assert.True(double.IsFinite(steps[0].Loss));
    }

    [Fact]
    public void Resuming_a_packed_run_without_packing_is_refused_with_the_setting_named()
    {
        // Packing changes what a step and an epoch are, so the saved step would mean other data.
        var model = RandomModel("llama");
        var options = Options("llama", model, FineTuningFixtures.VariedIds(P("varied.jsonl"), 16), P("out")) with { Steps = 1, GradientAccumulation = 1 };
        FineTuning.Run(options);
        var e = Assert.Throws<ArgumentException>(() => FineTuning.Run(options with { Steps = 2, Resume = true, Packing = false }));
        Assert.Contains("packing = true, this run has false", e.Message);
    }

    static DisposableTensors Adapter(string folder)
    {
        var path = Path.Combine(folder, "adapter_model.safetensors");
        using var file = Checkpoint.Open(path);
        var tensors = new DisposableTensors();
        foreach (var entry in file.Manifest.Tensors) tensors[entry.Name] = ReferenceTensors.Load(path, entry.Name);
        return tensors;
    }

    sealed class DisposableTensors : Dictionary<string, Tensor>, IDisposable
    {
        public void Dispose()
        {
            foreach (var t in Values) t.Dispose();
        }
    }
}
