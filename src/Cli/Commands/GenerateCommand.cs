using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ckpt.Models;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt generate`: parses options, calls <see cref="Generation.Run"/>, prints the text (or ids) and a summary line.</summary>
static class GenerateCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<string>("model") { Description = "checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json, and a tokenizer for --prompt, beside it)" };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter folder to apply on top of the model" };
        var prompt = new Option<string?>("--prompt") { Description = "text to continue (tokenized with BOS first, as fine-tuning data)" };
        var inputIds = new Option<string?>("--input-ids") { Description = "safetensors file holding input_ids [rows, seq]; each row is continued on its own" };
        var maxNewTokens = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 64 };
        var greedy = new Option<bool>("--greedy") { Description = "argmax decoding, whatever generation_config.json says" };
        var temperature = new Option<double?>("--temperature") { Description = "sample, dividing the logits by T (default: generation_config.json, else 1)" };
        var topP = new Option<double?>("--top-p") { Description = "sample from the smallest set of tokens whose probability reaches p (default: generation_config.json, else 1)" };
        var topK = new Option<int?>("--top-k") { Description = "sample from the k most likely tokens, 0 for all (default: generation_config.json, else 50)" };
        var seed = new Option<long>("--seed") { Description = "seed of the CPU generator sampling draws from", DefaultValueFactory = _ => 0 };
        var chat = new Option<bool>("--chat") { Description = "render --prompt as one user message with the model's chat template (add_generation_prompt)" };
        var noCache = new Option<bool>("--no-cache") { Description = "re-run the whole sequence for every token instead of using the KV cache (a baseline)" };
        var device = new Option<string?>("--device") { Description = "cpu (default), cuda or cuda:N" };
        var dtype = new Option<string?>("--dtype") { Description = "compute dtype: f32, bf16, f16 (default: the checkpoint's)" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads for LibTorch (default: LibTorch's choice)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object per row instead of the text" };
        var command = new Command("generate", "Generate text with a causal LM (and a fine-tune's adapter): greedy or sampled, decoded with a KV cache.")
        {
            model, adapter, prompt, inputIds, maxNewTokens, greedy, temperature, topP, topK, seed, chat, noCache, device, dtype, threads, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var request = new GenerationRequest
            {
                Model = parse.GetValue(model)!,
                Adapter = parse.GetValue(adapter),
                Prompt = parse.GetValue(prompt),
                InputIds = parse.GetValue(inputIds),
                MaxNewTokens = parse.GetValue(maxNewTokens),
                Greedy = parse.GetValue(greedy),
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                TopK = parse.GetValue(topK),
                Seed = parse.GetValue(seed),
                Chat = parse.GetValue(chat),
                NoCache = parse.GetValue(noCache),
                Device = parse.GetValue(device),
                DType = parse.GetValue(dtype),
                Threads = parse.GetValue(threads),
            };
            if (parse.GetValue(json))
            {
                var done = Generation.Run(request, cancellationToken: cancellationToken);
                for (int r = 0; r < done.Rows.Count; r++) stdout.WriteLine(JsonSerializer.Serialize(Fields(done, r)));
            }
            else
            {
                // Text is shown as it is generated, each row's summary as soon as it is complete.
                var inv = CultureInfo.InvariantCulture;
                var streamed = new HashSet<int>();
                var done = Generation.Run(request, cancellationToken, onText: (row, piece) =>
                {
                    streamed.Add(row);
                    stdout.Write(piece);
                    stdout.Flush();
                }, onRow: (row, generated) =>
                {
                    var s = generated.Sequence;
                    if (streamed.Contains(row)) stdout.WriteLine();
                    else stdout.WriteLine(generated.Text ?? string.Join(' ', s.Tokens));
                    stdout.WriteLine(string.Create(inv, $"-- {s.Tokens.Length} tokens ({s.FinishReason}), {s.TokensPerSecond:F1} tokens/s"));
                });
                stdout.WriteLine(string.Create(inv, $"-- {(done.Settings.DoSample ? $"sampled (seed {done.Settings.Seed})" : "greedy")}, " +
                    $"{done.ModelType} in {done.ComputeDType} on {done.Device}, loaded in {done.LoadTime.TotalSeconds:F2} s"));
            }
            return Task.FromResult(0);
        });
        return command;
    }

    static Dictionary<string, object?> Fields(GenerationCompleted done, int r)
    {
        var row = done.Rows[r];
        var s = row.Sequence;
        return new()
        {
            ["row"] = r,
            ["text"] = row.Text,
            ["prompt_ids"] = s.PromptIds,
            ["generated_ids"] = s.Tokens,
            ["finish_reason"] = s.FinishReason,
            ["new_tokens"] = s.Tokens.Length,
            ["tokens_per_second"] = s.TokensPerSecond,
            ["prefill_seconds"] = s.PrefillTime.TotalSeconds,
            ["decode_seconds"] = s.DecodeTime.TotalSeconds,
            ["load_seconds"] = done.LoadTime.TotalSeconds,
            ["sampling"] = done.Settings.DoSample,
            ["kv_cache"] = done.Settings.UseCache,
            ["model_type"] = done.ModelType,
            ["dtype"] = done.ComputeDType,
            ["device"] = done.Device,
        };
    }
}
