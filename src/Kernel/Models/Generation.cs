using System.Diagnostics;
using Ckpt.Training.Data;
using Ckpt.Training.Data.ChatTemplates;

namespace Ckpt.Models;

/// <summary>What `ckpt generate` produced: one row per prompt, with its text when the model has a tokenizer.</summary>
public sealed record GenerationCompleted(string ModelType, string ComputeDType, string Device, GenerationSettings Settings,
    IReadOnlyList<GeneratedRow> Rows, TimeSpan LoadTime)
{
    /// <summary>`ckpt generate --json`'s line for row <paramref name="r"/> (docs/json.md): its ids and text, its timings, and the run's settings.</summary>
    public Dictionary<string, object?> RowJson(int r)
    {
        var row = Rows[r];
        var s = row.Sequence;
        return new()
        {
            ["row"] = r,
            ["text"] = row.Text,
            ["promptIds"] = s.PromptIds,
            ["generatedIds"] = s.Tokens,
            ["finishReason"] = s.FinishReason,
            ["newTokens"] = s.Tokens.Length,
            ["tokensPerSecond"] = s.TokensPerSecond,
            ["prefillSeconds"] = s.PrefillTime.TotalSeconds,
            ["decodeSeconds"] = s.DecodeTime.TotalSeconds,
            ["loadSeconds"] = LoadTime.TotalSeconds,
            ["sampling"] = Settings.DoSample,
            ["kvCache"] = Settings.UseCache,
            ["modelType"] = ModelType,
            ["dtype"] = ComputeDType,
            ["device"] = Device,
        };
    }
}

/// <param name="Text">The new tokens decoded (without the EOS that stopped them); null without a tokenizer.</param>
public sealed record GeneratedRow(GeneratedSequence Sequence, string? Text);

/// <summary>
/// Text generation from a causal LM, as transformers' generate() does it for one row: the prompt runs once through
/// the model filling the <see cref="KeyValueCache"/>, then each new token runs alone at the next position; the next
/// token is the argmax of the last logits, or a draw from their warped softmax; generation stops after an EOS id or
/// <see cref="GenerationSettings.MaxNewTokens"/>.
/// </summary>
public static class Generation
{
    /// <summary>
    /// Continues <paramref name="promptIds"/>; <paramref name="onToken"/> sees each new token as it is chosen. The model
    /// is used as it is: put it in eval mode first, or LoRA dropout stays on (as with transformers' generate()).
    /// </summary>
    /// <exception cref="ArgumentException">An empty prompt, an id outside the vocabulary, or a prompt longer than the model's positions.</exception>
    public static GeneratedSequence Generate(CausalLanguageModel model, IReadOnlyList<int> promptIds, GenerationSettings settings,
        Action<int>? onToken = null, CancellationToken cancellationToken = default)
    {
        settings.Validate();
        if (promptIds.Count == 0) throw new ArgumentException("the prompt has no tokens: generation needs at least one");
        foreach (var bad in promptIds.Where(id => id < 0 || id >= model.Config.VocabSize).Take(1))
            throw new ArgumentException($"token id {bad} is outside the model's vocabulary of {model.Config.VocabSize}");
        // GPT-2's learned positions end at n_positions; RoPE has no such end.
        long? positions = model.Config is Gpt2Config gpt2 ? gpt2.MaxPositions : null;
        if (positions is long max && promptIds.Count > max)
            throw new ArgumentException($"the prompt has {promptIds.Count} tokens but the model has only {max} positions");

        using var noGrad = no_grad();
        using var generator = settings.DoSample ? new Generator((ulong)settings.Seed, CPU) : null;
        using var cache = settings.UseCache ? model.NewCache() : null;
        var sequence = promptIds.Select(i => (long)i).ToList();
        var tokens = new List<int>();
        var logits = settings.KeepLogits ? new List<float[]>() : null;
        var finish = "length";
        var clock = Stopwatch.StartNew();
        var prefill = TimeSpan.Zero;
        long[] feed = sequence.ToArray();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int next;
            using (NewDisposeScope())
            {
                var input = tensor(cache is null ? sequence.ToArray() : feed, ScalarType.Int64).view(1, -1).to(model.Device);
                var all = cache is null ? model.Forward(input) : model.Forward(input, cache);
                // As generate(): the last position's logits, copied to f32 before any processing.
                var last = all.select(0, 0).select(0, -1).to(ScalarType.Float32).cpu();
                logits?.Add(last.data<float>().ToArray());
                next = Choose(last, settings, generator);
            }
            if (tokens.Count == 0) prefill = clock.Elapsed;
            tokens.Add(next);
            sequence.Add(next);
            onToken?.Invoke(next);
            if (settings.EosTokenIds.Contains(next)) { finish = "eos"; break; }
            if (tokens.Count >= settings.MaxNewTokens) break;
            // The token just chosen would be fed at position sequence.Count - 1.
            if (positions is long limit && sequence.Count > limit) break;
            feed = [next];
        }
        return new GeneratedSequence(promptIds.ToArray(), tokens.ToArray(), finish, prefill, clock.Elapsed - prefill, logits);
    }

    /// <summary>Greedy: argmax (the first on ties, as torch.argmax). Sampling: warp, softmax, one multinomial draw.</summary>
    static int Choose(Tensor logits, GenerationSettings settings, Generator? generator)
    {
        if (!settings.DoSample) return (int)logits.argmax().item<long>();
        using var warped = LogitsWarpers.Apply(logits, settings.Temperature, settings.TopK, settings.TopP);
        using var probs = warped.softmax(-1);
        using var drawn = multinomial(probs, 1, false, generator);
        return (int)drawn.item<long>();
    }

    /// <summary>
    /// `ckpt generate`: checks the request, loads the model (and adapter), tokenizes the prompt (BOS first, as the
    /// fine-tuning data is tokenized; with <see cref="GenerationRequest.Chat"/> the chat template's rendering, special
    /// tokens read as such) or reads input_ids, and continues each row.
    /// </summary>
    /// <param name="onText">Sees (row, text) as the decoded text grows (with a tokenizer only): each piece once, in order, together the row's <see cref="GeneratedRow.Text"/>.</param>
    /// <param name="onRow">Sees each row as soon as it is complete.</param>
    public static GenerationCompleted Run(GenerationRequest request, CancellationToken cancellationToken = default,
        Action<int, string>? onText = null, Action<int, GeneratedRow>? onRow = null)
    {
        request.Validate();
        var modelFolder = Directory.Exists(request.Model) ? request.Model : Path.GetDirectoryName(Path.GetFullPath(request.Model))!;
        var settings = request.Settings(GenerationDefaults.Read(modelFolder));
        using var tokenizer = TextTokenizer.TryOpen(modelFolder);
        var prompts = request.Prompt is { } promptText ? [Tokenize(promptText, request.Chat, tokenizer, modelFolder)] : ReadRows(request.InputIds!);

        LibTorchThreads.Apply(request.Threads);
        var clock = Stopwatch.StartNew();
        var device = ComputeDevice.Parse(request.Device).ToTorch();
        using var ckpt = Checkpoint.Open(request.Model, cancellationToken);
        var config = ModelConfig.Read(ckpt);
        using var model = CausalLanguageModel.Load(ckpt, config, device, Tensors.DTypeNames.Compute(request.DType), cancellationToken);
        if (request.Adapter is not null) Training.PeftLora.Load(model, request.Adapter, cancellationToken);
        model.eval();
        var loaded = clock.Elapsed;

        var rows = new List<GeneratedRow>();
        for (int r = 0; r < prompts.Count; r++)
        {
            int row = r;
            var stream = tokenizer is not null && onText is not null ? new TextStream(tokenizer, settings.EosTokenIds, text => onText(row, text)) : null;
            // Every row draws from its own generator seeded alike, so a row's output does not depend on the rows before it.
            var sequence = Generate(model, prompts[r], settings, stream is null ? null : stream.Add, cancellationToken);
            var newTokens = sequence.FinishReason == "eos" ? sequence.Tokens[..^1] : sequence.Tokens;
            var text = tokenizer?.Decode(newTokens);
            stream?.Finish(text!);
            rows.Add(new GeneratedRow(sequence, text));
            onRow?.Invoke(row, rows[^1]);
        }
        return new GenerationCompleted(config.ModelType, model.DType.ToString(), device.ToString(), settings, rows, loaded);
    }

    static int[] Tokenize(string prompt, bool chat, TextTokenizer? tokenizer, string modelFolder)
    {
        if (tokenizer is null)
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, modelFolder, null,
                "a text prompt needs tokenizer.model or tokenizer.json beside the model (or pass --input-ids)", "tokenizer.model or tokenizer.json", "none");
        if (!chat) return tokenizer.Encode(prompt, addBos: true);
        var template = ChatTemplate.FromModelFolder(modelFolder)
            ?? throw new CheckpointFormatException(FormatErrorReason.MissingFile, modelFolder, null,
                "--chat needs the model's chat template (chat_template in tokenizer_config.json, or chat_template.jinja)", "chat_template", "none");
        using var messages = JsonDocument.Parse(JsonSerializer.Serialize(new[] { new { role = "user", content = prompt } }));
        return tokenizer.EncodeRendered(template.Render(messages.RootElement, addGenerationPrompt: true));
    }

    static List<int[]> ReadRows(string path)
    {
        using var ids = CausalLmForward.ReadInputIds(path);
        var flat = ids.data<long>().ToArray();
        long rows = ids.shape[0], seq = ids.shape[1];
        return Enumerable.Range(0, (int)rows).Select(r => flat.Skip((int)(r * seq)).Take((int)seq).Select(v => checked((int)v)).ToArray()).ToList();
    }
}
