using System.Text.Json;
using Ckpt.Tests.Cli;
using Ckpt.Training;
using Ckpt.Training.Data;
using Ckpt.Training.Data.ChatTemplates;
using Xunit.Abstractions;

namespace Ckpt.Tests.Training;

/// <summary>SFT and DPO on TRL-style conversations end to end, through the chat template, on CPU in seconds.</summary>
public sealed class ChatFineTuningTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("chat-finetune");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    string P(string name) => Path.Combine(_dir, name);

    static readonly string[] AllLinear = FineTuningFixtures.LlamaLinear;

    /// <summary>Conversations whose answers follow a rule the model can learn: the user's instruction names the answer.</summary>
    static string Conversations(string path, int count, int seed = 1)
    {
        var rng = new Random(seed);
        string[] ops = ["Add", "Subtract", "Reverse"];
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var op = ops[rng.Next(ops.Length)];
            int a = rng.Next(10), b = rng.Next(10);
            var messages = new List<object>();
            if (rng.Next(2) == 0) messages.Add(new { role = "system", content = "Answer with the operation." });
            messages.Add(new { role = "user", content = $"{op} the numbers {a} and {b}." });
            messages.Add(new { role = "assistant", content = $"The answer is {op}." });
            lines.Add(JsonSerializer.Serialize(new { messages }));
        }
        File.WriteAllLines(path, lines);
        return path;
    }

    static string Pairs(string path, int count, int seed = 2)
    {
        var rng = new Random(seed);
        string[] ops = ["Add", "Subtract", "Reverse"];
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var op = ops[rng.Next(ops.Length)];
            lines.Add(JsonSerializer.Serialize(new
            {
                prompt = new[] { new { role = "user", content = $"{op} the numbers {rng.Next(10)} and {rng.Next(10)}." } },
                chosen = new[] { new { role = "assistant", content = $"The answer is {op}." } },
                rejected = new[] { new { role = "assistant", content = "Reverse Reverse" } },
            }));
        }
        File.WriteAllLines(path, lines);
        return path;
    }

    string Model(string? template = ChatTrainingDataTests.ChatMlTemplate)
    {
        var model = FineTuningFixtures.RandomLlama(P("model"), withTokenizer: true);
        ChatTrainingDataTests.ModelFolder(model, template);
        return model;
    }

    List<TrainingProgress> Train(FineTuningOptions options)
    {
        var steps = new List<TrainingProgress>();
        FineTuning.Run(options, new Collect(steps.Add));
        output.WriteLine(string.Join("\n", steps.Select(s => string.Join(", ", s.Fields().Select(kv => $"{kv.Key} {kv.Value:G5}")))));
        return steps;
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Sft_on_conversations_through_the_models_chat_template_halves_the_loss()
    {
        var model = Model();
        var data = Conversations(P("chat.jsonl"), 24);
        var steps = Train(new FineTuningOptions
        {
            Recipe = Recipe.Sft, Model = model, Data = data, Output = P("out"), Steps = 25, BatchSize = 8,
            LearningRate = 1e-2, LoraR = 8, LoraAlpha = 16, LoraTargets = AllLinear, Threads = 1,
        });
        Assert.Equal(25, steps.Count);
        Assert.True(steps[^1].Loss <= steps[0].Loss / 2, $"loss {steps[0].Loss:F3} -> {steps[^1].Loss:F3}");
    }

    [Fact]
    public void The_tokens_trained_on_are_the_rendered_prompt_and_completion_of_each_conversation()
    {
        var model = Model();
        var data = Conversations(P("chat.jsonl"), 6);
        using var tokenizer = TextTokenizer.TryOpen(model)!;
        var chat = ChatTemplate.FromModelFolder(model)!;
        var (examples, _) = TrainingData.ReadSft(data, tokenizer, chatTemplate: chat);
        var lines = File.ReadAllLines(data);
        Assert.Equal(lines.Length, examples.Count);
        for (int i = 0; i < lines.Length; i++)
        {
            var messages = JsonDocument.Parse(lines[i]).RootElement.GetProperty("messages");
            var prompt = chat.Render(JsonDocument.Parse(JsonSerializer.Serialize(messages.EnumerateArray().SkipLast(1))).RootElement, true);
            var full = chat.Render(messages, false);
            Assert.Equal(tokenizer.EncodeRendered(prompt), examples[i].Prompt);
            Assert.Equal(tokenizer.EncodeRendered(full), examples[i].Prompt.Concat(examples[i].Completion));
            // The completion ends with <|im_end|>, then the "\n" the template writes after it.
            Assert.Equal(401, examples[i].Completion[^(1 + tokenizer.Encode("\n", addBos: false).Length)]);
        }
    }

    [Fact]
    public void Dpo_on_conversational_pairs_runs_with_the_template_from_a_chat_template_file()
    {
        var model = Model(template: null);
        var file = P("inst.jinja");
        File.WriteAllText(file, ChatTrainingDataTests.InstTemplate);
        var steps = Train(new FineTuningOptions
        {
            Recipe = Recipe.Dpo, Model = model, Data = Pairs(P("pairs.jsonl"), 8), Output = P("out"), Steps = 3, BatchSize = 8,
            LearningRate = 5e-3, LoraR = 4, LoraAlpha = 8, Threads = 1, ChatTemplate = file,
        });
        Assert.Equal(3, steps.Count);
        Assert.Equal(Math.Log(2), steps[0].Loss, 3);
        Assert.True(steps[^1].Metrics["rewards/margins"] > 0);
    }

    [Fact]
    public void The_cli_refuses_conversations_for_a_model_without_a_chat_template_in_one_sentence()
    {
        var model = Model(template: null);
        var data = Conversations(P("chat.jsonl"), 2);
        var (code, _, stderr) = CliRunner.Run("finetune", "--recipe", "sft", "--model", model, "--data", data, "--steps", "1", "--out", P("out"));
        Assert.Equal(2, code);
        Assert.Equal($"ckpt: chat.jsonl line 1: the record is a conversation but the model folder {model} has no chat_template in tokenizer_config.json; pass --chat-template <file.jinja>", stderr.Trim());
    }

    [Fact]
    public void The_cli_trains_on_conversations_with_a_chat_template_file()
    {
        var model = Model(template: null);
        var file = P("chatml.jinja");
        File.WriteAllText(file, ChatTrainingDataTests.ChatMlTemplate);
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "sft", "--model", model, "--data", Conversations(P("chat.jsonl"), 4),
            "--chat-template", file, "--steps", "2", "--batch", "2", "--lora-r", "4", "--out", P("out"), "--threads", "1", "--json");
        Assert.True(code == 0, stderr);
        var summary = JsonDocument.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.Equal(2, summary.GetProperty("stepsCompleted").GetInt32());
        Assert.Equal(4, summary.GetProperty("examples").GetInt32());
    }

    [Fact]
    public void A_missing_chat_template_file_is_refused_before_anything_is_read()
    {
        var (code, _, stderr) = CliRunner.Run("finetune", "--recipe", "sft", "--model", FineTuningFixtures.TinyLlama, "--data",
            Conversations(P("chat.jsonl"), 1), "--chat-template", P("nope.jinja"), "--steps", "1", "--out", P("out"));
        Assert.Equal(2, code);
        Assert.Equal($"ckpt: chat template file {P("nope.jinja")} does not exist", stderr.Trim());
    }
}
