using System.Diagnostics;
using System.Text.Json;
using Ckpt;
using Ckpt.Models;
using Ckpt.Tensors;
using Ckpt.Training;
using TorchSharp;
using static TorchSharp.torch;

var root = args[0];
var outDir = args[1];
var results = new Dictionary<string, object>();
string F(string p) => Path.Combine(root, "tests", "fixtures", p);
Tensor Load(string file, string name) { using var c = Checkpoint.Open(file); using var d = c.Read(name); return d.ToTorch(); }
double Diff(Tensor a, Tensor b) { using var d = a.cpu().to(ScalarType.Float64).sub(b.cpu().to(ScalarType.Float64)).abs().max(); return d.item<double>(); }
void Save() => File.WriteAllText(Path.Combine(outDir, "dotnet.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));

torch.InitializeDeviceType(DeviceType.CUDA);
results["cuda_available"] = cuda.is_available();
var dev = CUDA;

// 1. Forward parity on CUDA (fp32 and bf16) through the Kernel API.
var fwd = CausalLmForward.Run(F("hf-llama-tiny-sharded"), F("hf-llama-tiny-sharded/reference_logits.safetensors"), Path.Combine(outDir, "logits.safetensors"), device: "cuda");
using (var a = Load(Path.Combine(outDir, "logits.safetensors"), "logits")) using (var b = Load(F("hf-llama-tiny-sharded/reference_logits.safetensors"), "logits"))
    results["forward_fp32_cuda_maxdiff"] = Diff(a, b);
CausalLmForward.Run(F("hf-llama-tiny-sharded"), F("hf-llama-tiny-sharded/reference_logits.safetensors"), Path.Combine(outDir, "logits16.safetensors"), computeDType: "bf16", device: "cuda");
using (var a = Load(Path.Combine(outDir, "logits16.safetensors"), "logits")) using (var b = Load(F("hf-llama-tiny-sharded/reference_logits.safetensors"), "logits"))
    results["forward_bf16_cuda_maxdiff"] = Diff(a, b);
CausalLmForward.Run(F("hf-gpt2-tiny"), F("hf-gpt2-tiny/reference_logits.safetensors"), Path.Combine(outDir, "gpt2.safetensors"), device: "cuda");
using (var a = Load(Path.Combine(outDir, "gpt2.safetensors"), "logits")) using (var b = Load(F("hf-gpt2-tiny/reference_logits.safetensors"), "logits"))
    results["gpt2_fp32_cuda_maxdiff"] = Diff(a, b);
Save();

// 2. LoRA + DPO parity on CUDA, then one QLoRA DPO step.
{
    using var ck = Checkpoint.Open(F("hf-llama-tiny-sharded"));
    using var model = CausalLanguageModel.Load(ck, device: dev);
    PeftLora.Load(model, F("peft-lora-llama-tiny"));
    var refFile = F("peft-lora-llama-tiny/reference.safetensors");
    using var p = Load(refFile, "prompt"); using var c = Load(refFile, "chosen"); using var r = Load(refFile, "rejected");
    using var dpo = DpoLoss.Compute(model, p.to(dev), c.to(dev), r.to(dev));
    using var expected = Load(refFile, "dpo_losses_beta0.1");
    results["dpo_losses_cuda_maxdiff"] = Diff(dpo.Losses, expected);
    QLora.QuantizeBase(model);
    using var opt = optim.AdamW(model.parameters().Where(x => x.requires_grad), lr: 1e-3);
    using var dpo2 = DpoLoss.Compute(model, p.to(dev), c.to(dev), r.to(dev));
    using var loss = dpo2.Loss; loss.backward(); opt.step();
    results["qlora_dpo_step_cuda_loss"] = loss.item<float>();
    results["qlora_bytes_per_param"] = QLora.Report(model).BytesPerParameter;
}
Save();

// 3. Throughput: LoRA (r 16, all 7 projections) SFT steps on a ~250M LLaMA built from config, bf16 base.
{
    var config = new LlamaConfig { ModelType = "llama", VocabSize = 32000, HiddenSize = 1024, NumLayers = 16, NumHeads = 16,
        NumKeyValueHeads = 8, HeadDim = 64, IntermediateSize = 2816, RmsNormEps = 1e-6 };
    using var model = CausalLanguageModel.Create(config, ScalarType.BFloat16, dev);
    manual_seed(0);
    using (no_grad())
        foreach (var (name, prm) in model.named_parameters())
            if (name.EndsWith("norm.weight")) prm.fill_(1); else { using var x = randn(prm.shape, ScalarType.Float32, dev).mul(0.02); prm.copy_(x); }
    long parameters = model.parameters().Sum(x => x.numel());
    PeftLora.Attach(model, new LoraConfig { R = 16, Alpha = 32, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] }, seed: 0);
    using var opt = optim.AdamW(model.parameters().Where(x => x.requires_grad), lr: 1e-4);
    int batch = 8, seq = 512, warm = 3, steps = 10;
    using var ids = randint(0, 32000, [batch, seq], ScalarType.Int64, dev);
    model.train();
    var sw = new Stopwatch();
    for (int s = 0; s < warm + steps; s++)
    {
        if (s == warm) { cuda.synchronize(); sw.Start(); }
        opt.zero_grad();
        using var loss = SftLoss.Compute(model, ids, ids);
        loss.backward();
        opt.step();
    }
    cuda.synchronize();
    sw.Stop();
    results["bench_parameters"] = parameters;
    results["bench_tokens_per_s"] = batch * seq * steps / sw.Elapsed.TotalSeconds;
    results["bench_step_ms"] = sw.Elapsed.TotalMilliseconds / steps;
}
Save();
Console.WriteLine(JsonSerializer.Serialize(results));
