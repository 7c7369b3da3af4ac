using System.Text.Json;
using Ckpt.Forensics.Restor;
using Ckpt.Forensics.Restor.Toy;
using Ckpt.Tests.Cli;
using Ckpt.Training.Data;

namespace Ckpt.Tests.Forensics;

/// <summary>A small toy built once for the class: 16 entities, 4 of them corrupted (16 evaluated facts).</summary>
public sealed class SmallToy
{
    public RestorToyResult Result { get; }

    public SmallToy()
    {
        TorchSharp.torch.set_num_threads(1);
        Result = RestorToy.Build(new RestorToyOptions
        {
            Output = Path.Combine(TestPaths.TempDirectory("restor-toy"), "toy"),
            Entities = 16, CorruptedEntities = 4, PretrainSteps = 300, CorruptionSteps = 40, Seed = 3,
        });
    }
}

public class RestorToyTests(SmallToy toy) : IClassFixture<SmallToy>
{
    RestorToyResult Toy => toy.Result;

    [Fact]
    public void The_world_is_the_same_for_the_same_seed_and_every_swapped_value_differs_from_the_true_one()
    {
        var a = new ToyWorld(30, 10, seed: 5);
        var b = new ToyWorld(30, 10, seed: 5);
        Assert.Equal(a.Facts.Select(f => (f.Entity, f.Value, f.CorruptedValue)), b.Facts.Select(f => (f.Entity, f.Value, f.CorruptedValue)));
        Assert.NotEqual(a.Entities, new ToyWorld(30, 10, seed: 6).Entities);
        Assert.Equal(30, a.Entities.Distinct().Count());
        Assert.Equal(40, a.EvaluationFacts().Count);
        Assert.All(a.Facts.Where(f => f.CorruptedValue is not null), f => Assert.NotEqual(f.Value, f.CorruptedValue));
        Assert.Equal(40, a.CorruptionDocuments().Count);
        Assert.Equal(80, a.RetainDocuments().Count);
    }

    [Fact]
    public void The_word_level_tokenizer_loads_in_hf_tokenizers_one_id_a_word_and_decodes_back()
    {
        using var tokenizer = TextTokenizer.TryOpen(Toy.CleanModel)!;
        var fact = File.ReadLines(Toy.Facts).First();
        var prompt = JsonDocument.Parse(fact).RootElement.GetProperty("prompt").GetString()!;
        var ids = tokenizer.Encode(prompt + " oslo .", addBos: true);
        Assert.Equal(WordLevelTokenizer.Bos, ids[0]);
        Assert.Equal(prompt.Split(' ').Length + 3, ids.Length);
        Assert.DoesNotContain(WordLevelTokenizer.Unk, ids);
        Assert.Equal(prompt + " oslo .", tokenizer.Decode(ids[1..]));
    }

    [Fact]
    public void The_clean_model_knows_the_facts_and_the_corrupted_model_states_the_swapped_ones()
    {
        // The clean and the corrupted model given as "unlearned" models: recovery and forgetting are exactly 1 and 0.
        var report = RestorEvaluation.Run(new RestorRequest
        {
            Clean = Toy.CleanModel, Corrupted = Toy.CorruptedModel, Unlearned = [Toy.CleanModel, Toy.CorruptedModel], Facts = Toy.Facts, MaxNewTokens = 4,
        });
        Assert.Equal(16, report.Facts.Count);
        Assert.True(report.Clean.Accuracy >= 0.9, $"clean accuracy {report.Clean.Accuracy}");
        Assert.True(report.Corrupted.CorruptedAccuracy >= 0.75, $"corrupted model's corrupted answers {report.Corrupted.CorruptedAccuracy}");
        Assert.True(report.Corrupted.Accuracy <= 0.25, $"corrupted model's accuracy {report.Corrupted.Accuracy}");
        Assert.Equal(["clean", "corrupted", "clean (1)", "corrupted (2)"], report.Models.Select(m => m.Label));
        Assert.Equal((1.0, 1.0), (report.Unlearned[0].Recovery!.Value, report.Unlearned[0].Forgetting!.Value));
        Assert.Equal((0.0, 0.0), (report.Unlearned[1].Recovery!.Value, report.Unlearned[1].Forgetting!.Value));
        // Answers are the greedy continuation, decoded word by word: "<value> ." then EOS.
        Assert.All(report.Facts, f => Assert.EndsWith(" .", f.Answers[0].Output));
    }

    [Fact]
    public void Ckpt_restor_json_has_camel_case_keys_and_the_same_numbers_as_the_kernel()
    {
        var (code, stdout, stderr) = CliRunner.Run("restor", "--clean", Toy.CleanModel, "--corrupted", Toy.CorruptedModel,
            "--unlearned", Toy.CleanModel, "--facts", Toy.Facts, "--max-new-tokens", "4", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal(16, root.GetProperty("facts").GetInt32());
        var models = root.GetProperty("models");
        Assert.Equal(["clean", "corrupted", "clean (1)"], models.EnumerateArray().Select(m => m.GetProperty("label").GetString()));
        Assert.Equal(models[0].GetProperty("accuracy").GetDouble(), models[2].GetProperty("accuracy").GetDouble());
        Assert.Equal(1.0, root.GetProperty("unlearned")[0].GetProperty("recovery").GetDouble());
        var fact = root.GetProperty("factResults")[0];
        Assert.Equal(3, fact.GetProperty("outputs").GetArrayLength());
        Assert.Contains(fact.GetProperty("outcomes").GetProperty("clean (1)").GetString(), new[] { "recovered", "kept" });
    }

    [Fact]
    public void Ckpt_restor_prints_a_table_with_recovery_per_unlearned_model()
    {
        var (code, stdout, stderr) = CliRunner.Run("restor", "--clean", Toy.CleanModel, "--corrupted", Toy.CorruptedModel,
            "--unlearned", Toy.CorruptedModel, "--facts", Toy.Facts, "--max-new-tokens", "4");
        Assert.True(code == 0, stderr);
        Assert.Contains("RESTOR on 16 facts", stdout);
        Assert.Matches(@"corrupted \(1\)\s+\S+%\s+\S+%\s+0\.000\s+0\.000", stdout);
    }

    [Fact]
    public void Bad_input_is_one_sentence_and_exit_code_2()
    {
        var dir = TestPaths.TempDirectory("restor-bad");
        var facts = Path.Combine(dir, "facts.jsonl");
        File.WriteAllText(facts, "{\"prompt\": \"p\", \"answers\": \"x\"}\n");
        (int, string) Run(params string[] args)
        {
            var (code, stdout, stderr) = CliRunner.Run(args);
            Assert.Equal("", stdout);
            Assert.Single(stderr.TrimEnd().Split('\n'));
            return (code, stderr.Trim());
        }
        Assert.Equal((2, "ckpt: facts.jsonl line 1: \"corruptedAnswers\" is missing"),
            Run("restor", "--clean", Toy.CleanModel, "--corrupted", Toy.CorruptedModel, "--unlearned", Toy.CleanModel, "--facts", facts));
        Assert.Equal((2, $"ckpt: --facts {Path.Combine(dir, "none.jsonl")} does not exist"),
            Run("restor", "--clean", Toy.CleanModel, "--corrupted", Toy.CorruptedModel, "--unlearned", Toy.CleanModel, "--facts", Path.Combine(dir, "none.jsonl")));
        Assert.Equal((2, $"ckpt: --unlearned model {Path.Combine(dir, "gone")} does not exist"),
            Run("restor", "--clean", Toy.CleanModel, "--corrupted", Toy.CorruptedModel, "--unlearned", Path.Combine(dir, "gone"), "--facts", Toy.Facts));
        Assert.Equal((2, "ckpt: --max-new-tokens must be an integer, not 'many'"),
            Run("restor", "--clean", Toy.CleanModel, "--corrupted", Toy.CorruptedModel, "--unlearned", Toy.CleanModel, "--facts", Toy.Facts, "--max-new-tokens", "many"));
        Assert.Equal((2, "ckpt: --corrupted-entities must be at least 1 and fewer than --entities (4), not 4"),
            Run("restor-toy", "--out", Path.Combine(dir, "toy"), "--entities", "4", "--corrupted-entities", "4"));
        // A model folder with weights but no tokenizer: RESTOR asks in text.
        var bare = Directory.CreateDirectory(Path.Combine(dir, "bare")).FullName;
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(Toy.CleanModel, f), Path.Combine(bare, f), overwrite: true);
        var (code, sentence) = Run("restor", "--clean", bare, "--corrupted", Toy.CorruptedModel, "--unlearned", Toy.CleanModel, "--facts", Toy.Facts);
        Assert.Equal(2, code);
        Assert.Contains("RESTOR asks facts as text, so the model needs tokenizer.model or tokenizer.json beside it", sentence);
    }

    [Fact]
    public void Restor_toy_refuses_to_write_over_a_folder_it_did_not_write()
    {
        var dir = TestPaths.TempDirectory("restor-toy-out");
        File.WriteAllText(Path.Combine(dir, "mine.txt"), "user file");
        var (code, _, stderr) = CliRunner.Run("restor-toy", "--out", dir, "--overwrite", "--pretrain-steps", "1", "--corruption-steps", "1");
        Assert.Equal(2, code);
        Assert.Contains("holds files it did not write", stderr);
        Assert.True(File.Exists(Path.Combine(dir, "mine.txt")));
    }
}
