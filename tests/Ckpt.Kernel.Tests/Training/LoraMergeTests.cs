using Ckpt.Conversion;
using Ckpt.Errors;
using Ckpt.Models;
using Ckpt.Tensors;
using Ckpt.Tests.Cli;
using Ckpt.Tests.Models;
using Ckpt.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>
/// `ckpt convert --merge-adapter`: PEFT's merge_and_unload while streaming the base, one weight at a time. Against
/// PEFT 0.21's logits for the fixture adapter (fp32, max abs 1e-4) and torch's own `W += scaling·B@A`.
/// </summary>
public sealed class LoraMergeTests(ITestOutputHelper output) : IDisposable
{
    static readonly string Base = TestPaths.Fixture("hf-llama-tiny-sharded");
    static readonly string Adapter = TestPaths.Fixture("peft-lora-llama-tiny");
    static readonly string Reference = TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors");
    readonly string _dir = TestPaths.TempDirectory("lora-merge");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Converting_the_base_with_the_peft_adapter_merged_gives_peft_logits_and_a_loadable_model_folder()
    {
        var (code, stdout, stderr) = CliRunner.Run("convert", Base, "--out", P("merged"), "--merge-adapter", Adapter, "--max-shard-size", "300KB");
        Assert.True(code == 0, stderr);
        output.WriteLine(stdout);
        Assert.Contains("into 12 weights", stdout);
        Assert.True(File.Exists(P("merged/config.json")) && File.Exists(P("merged/generation_config.json")));

        using var merged = Checkpoint.Open(P("merged"));
        using var model = CausalLanguageModel.Load(merged);
        Assert.DoesNotContain(merged.Manifest.Tensors, t => t.Name.Contains("lora_"));
        using var ids = ReferenceTensors.Load(Reference, "input_ids");
        using var expected = ReferenceTensors.Load(Reference, "logits_with_adapter");
        using var noGrad = no_grad();
        using var logits = model.Forward(ids);
        var diff = ReferenceTensors.MaxAbsDiff(logits, expected);
        output.WriteLine($"max abs difference from PEFT's logits_with_adapter: {diff:E3}");
        Assert.True(diff < 1e-4);

        // Only the adapted weights changed; everything else is the base's bytes.
        using var source = Checkpoint.Open(Base);
        int changed = 0;
        foreach (var t in source.Manifest.Tensors)
        {
            using var a = source.Read(t.Name);
            using var b = merged.Read(t.Name);
            bool same = a.Bytes.SequenceEqual(b.Bytes);
            bool adapted = t.Name.EndsWith("q_proj.weight") || t.Name.EndsWith("v_proj.weight") || t.Name.EndsWith("down_proj.weight");
            Assert.True(same != adapted, $"{t.Name}: {(same ? "unchanged" : "changed")}");
            if (!same) changed++;
        }
        Assert.Equal(12, changed);
    }

    [Trait("Category", "slow")]
    [PythonTorchFact]
    public void A_bf16_base_merges_as_torch_adds_the_fp32_delta_in_place_rounding_once()
    {
        // The base in bf16, one file, then merged: each weight is bf16(float(W) + scaling·B@A), as PEFT's
        // `weight.data += delta` computes it, not bf16(W + bf16(delta)).
        var bf16 = CheckpointConverter.Convert(Checkpoint.Open(Base), new ConvertOptions(TargetFormat.Safetensors, P("bf16"), DType: DType.BF16));
        Assert.Single(bf16.Files);
        using (var source = Checkpoint.Open(P("bf16")))
            CheckpointConverter.Convert(source, new ConvertOptions(TargetFormat.Safetensors, P("merged"), MergeAdapter: Adapter));

        const string module = "model.layers.1.mlp.down_proj";
        var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "python", "lora_merge_reference.py")),
            bf16.Files[0], module + ".weight", Adapter, module, P("torch.bin"));
        Assert.True(code == 0, stderr);
        output.WriteLine(stdout);
        using var merged = Checkpoint.Open(P("merged"));
        using var ours = merged.Read(module + ".weight");
        Assert.Equal(DType.BF16, ours.DType);
        var expected = File.ReadAllBytes(P("torch.bin"));
        Assert.Equal(expected.Length, ours.Bytes.Length);
        var mine = ours.ToFloats();
        using var torchResult = new TensorData("torch", DType.BF16, [expected.Length / 2]);
        expected.CopyTo(torchResult.Bytes);
        var theirs = torchResult.ToFloats();
        int equal = 0;
        for (int i = 0; i < mine.Length; i++)
        {
            if (mine[i] == theirs[i]) { equal++; continue; }
            // A one-ulp difference can come only from the fp32 delta's last bit (matmul summation order).
            Assert.True(Math.Abs(mine[i] - theirs[i]) <= Math.Abs(theirs[i]) / 128, $"element {i}: {mine[i]} vs torch {theirs[i]}");
        }
        output.WriteLine($"{equal} of {mine.Length} bf16 elements bit-equal to torch's");
        Assert.True(equal >= mine.Length * 0.99);

        // The merge changed the weight (a delta below half a bf16 ulp everywhere would make the comparison empty).
        using var bf16Base = Checkpoint.Open(P("bf16"));
        using var baseWeight = bf16Base.Read(module + ".weight");
        Assert.False(baseWeight.Bytes.SequenceEqual(ours.Bytes));
    }

    [Fact]
    public void A_gpt2_adapter_with_fan_in_fan_out_merges_to_the_logits_of_the_in_memory_merge()
    {
        var gpt2 = TestPaths.Fixture("hf-gpt2-tiny");
        using (var ckpt = Checkpoint.Open(gpt2))
        using (var model = CausalLanguageModel.Load(ckpt))
        {
            var config = new LoraConfig { R = 4, Alpha = 8, TargetModules = ["c_attn", "c_fc"], FanInFanOut = true };
            PeftLora.Attach(model, config, seed: 3);
            using (no_grad())
                foreach (var (name, p) in model.named_parameters().Where(p => p.name.Contains("lora_B")))
                    p.copy_(randn(p.shape, generator: new Generator(11)).mul(0.05));
            PeftLora.Save(model, config, P("adapter"));
        }
        var (code, _, stderr) = CliRunner.Run("convert", gpt2, "--out", P("merged"), "--merge-adapter", P("adapter"));
        Assert.True(code == 0, stderr);

        using var ids = randint(0, 50, [2, 7], generator: new Generator(5));
        using var noGrad = no_grad();
        using var inMemory = CausalLanguageModel.Load(Checkpoint.Open(gpt2));
        PeftLora.Load(inMemory, P("adapter"));
        using var expected = inMemory.Forward(ids);
        PeftLora.MergeAndUnload(inMemory);
        using var streamed = CausalLanguageModel.Load(Checkpoint.Open(P("merged")));
        using var logits = streamed.Forward(ids);
        using var baseModel = CausalLanguageModel.Load(Checkpoint.Open(gpt2));
        using var baseLogits = baseModel.Forward(ids);
        output.WriteLine($"merged vs adapter-on: {ReferenceTensors.MaxAbsDiff(logits, expected):E3}; base vs adapter-on: {ReferenceTensors.MaxAbsDiff(baseLogits, expected):E3}");
        Assert.True(ReferenceTensors.MaxAbsDiff(logits, expected) < 1e-4);
        Assert.True(ReferenceTensors.MaxAbsDiff(baseLogits, expected) > 1e-3);
    }

    [Fact]
    public void An_adapter_for_modules_the_base_lacks_is_refused_naming_the_key_before_anything_is_written()
    {
        using var gpt2 = Checkpoint.Open(TestPaths.Fixture("hf-gpt2-tiny"));
        var e = Assert.Throws<CheckpointFormatException>(() =>
            CheckpointConverter.Convert(gpt2, new ConvertOptions(TargetFormat.Safetensors, P("out"), MergeAdapter: Adapter)));
        output.WriteLine(e.Message);
        Assert.Equal(FormatErrorReason.TensorNotFound, e.Reason);
        Assert.StartsWith("base_model.model.model.layers.", e.Tensor);
        Assert.Contains("which the base checkpoint does not hold", e.Message);
        Assert.False(Directory.Exists(P("out")));
    }

    [Fact]
    public void An_adapter_whose_matrices_do_not_fit_the_weight_is_refused_with_both_shapes()
    {
        Directory.CreateDirectory(P("bad"));
        File.Copy(Path.Combine(Adapter, "adapter_config.json"), P("bad/adapter_config.json"));
        const string key = "base_model.model.model.layers.0.self_attn.q_proj";
        Ckpt.Formats.Safetensors.SafetensorsWriter.Write(P("bad/adapter_model.safetensors"),
        [
            new(key + ".lora_A.weight", DType.F32, [4, 63], () => new TensorData("A", DType.F32, [4, 63])),
            new(key + ".lora_B.weight", DType.F32, [64, 4], () => new TensorData("B", DType.F32, [64, 4])),
        ]);
        using var source = Checkpoint.Open(Base);
        var e = Assert.Throws<CheckpointFormatException>(() =>
            CheckpointConverter.Convert(source, new ConvertOptions(TargetFormat.Safetensors, P("out"), MergeAdapter: P("bad"))));
        output.WriteLine(e.Message);
        Assert.Equal(FormatErrorReason.InvalidShape, e.Reason);
        Assert.Equal(key + ".lora_A.weight", e.Tensor);
        Assert.Contains("[64, 4] @ [4, 63]", e.Message);
    }
}
