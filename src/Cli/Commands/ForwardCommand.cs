using System.CommandLine;
using Ckpt.Models;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

static class ForwardCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<string>("model") { Description = "checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json beside it)" };
        var inputIds = new Option<string>("--input-ids") { Description = "safetensors file holding input_ids [batch, seq] (int64)", Required = true };
        var output = new Option<string>("--out") { Description = "safetensors file to write logits [batch, seq, vocab] (F32) to", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = OutputFile.OverwriteHelp };
        var dtype = new Option<string?>("--dtype") { Description = "compute dtype: f32, bf16, f16 (default: the checkpoint's)" };
        var device = new Option<string?>("--device") { Description = "cpu (default) or cuda" };
        var config = new Option<string?>("--config") { Description = "config.json to use when the checkpoint has none beside it" };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter folder to apply on top of the model" };
        var command = new Command("forward", "Run a causal LM on given token ids and save its logits (a parity check after conversion or merge).")
            { model, inputIds, output, overwrite, dtype, device, config, adapter };
        command.SetAction((parse, cancellationToken) =>
        {
            var done = CausalLmForward.Run(parse.GetValue(model)!, parse.GetValue(inputIds)!, parse.GetValue(output)!,
                parse.GetValue(dtype), parse.GetValue(device), parse.GetValue(config), cancellationToken, parse.GetValue(adapter),
                parse.GetValue(overwrite));
            stdout.WriteLine($"{done.ModelType} logits [{string.Join(", ", done.LogitsShape)}] computed in {done.ComputeDType} on {done.Device} " +
                $"(load {done.LoadTime.TotalSeconds:F2} s, forward {done.ForwardTime.TotalSeconds:F2} s) -> {done.OutputPath}");
            return Task.FromResult(0);
        });
        return command;
    }
}
