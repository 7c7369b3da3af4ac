using Ckpt.Training;
using Ckpt.Training.Data;

namespace Ckpt.Tests.Training;

public sealed class TrainingDataTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("training-data");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    TextTokenizer SentencePiece()
    {
        File.Copy(FineTuningFixtures.SentencePieceModel, Path.Combine(_dir, "tokenizer.model"), overwrite: true);
        return TextTokenizer.TryOpen(_dir)!;
    }

    [Fact]
    public void An_alpaca_record_becomes_the_alpaca_prompt_with_bos_and_a_completion_ending_in_eos()
    {
        using var tokenizer = SentencePiece();
        var path = Write("a.jsonl", """{"instruction": "Add the numbers.", "input": "2 and 3", "output": "The answer is 5."}""");
        var (examples, dropped) = TrainingData.ReadSft(path, tokenizer);
        var e = Assert.Single(examples);
        Assert.Equal(0, dropped);
        var prompt = AlpacaTemplate.Format("Add the numbers.", "2 and 3");
        Assert.Contains("### Input:\n2 and 3\n\n### Response:\n", prompt);
        Assert.Equal(tokenizer.Encode(prompt, addBos: true), e.Prompt);
        Assert.Equal(2, e.Completion[^1]);
        // Prompt and completion together are what the tokenizer gives for the whole text.
        Assert.Equal(tokenizer.Encode(prompt + "The answer is 5.", addBos: true), e.Prompt.Concat(e.Completion[..^1]));
    }

    [Fact]
    public void A_text_preference_pair_shares_its_prompt_ids_and_both_completions_end_in_eos()
    {
        using var tokenizer = SentencePiece();
        var path = Write("p.jsonl", """{"prompt": "Add the numbers 2 and 3.", "chosen": " The answer is 5.", "rejected": " Reverse"}""");
        var e = Assert.Single(TrainingData.ReadPreferences(path, tokenizer).Examples);
        Assert.Equal(tokenizer.Encode("Add the numbers 2 and 3.", addBos: true), e.Prompt);
        Assert.Equal(tokenizer.Encode("Add the numbers 2 and 3. The answer is 5.", addBos: true), e.Prompt.Concat(e.Chosen[..^1]));
        Assert.Equal(2, e.Chosen[^1]);
        Assert.Equal(2, e.Rejected[^1]);
    }

    [Fact]
    public void Prompt_and_padding_positions_of_a_batch_are_labelled_minus_100()
    {
        var batch = TrainingBatch.Sft([new SftExample([1, 5, 6], [7, 2]), new SftExample([1, 5], [8, 9, 10, 2])], padId: 0, TorchSharp.torch.CPU);
        using var _ = batch;
        Assert.Equal([1L, 5, 6, 7, 2, 0, 1, 5, 8, 9, 10, 2], batch.Ids.data<long>().ToArray());
        Assert.Equal([-100L, -100, -100, 7, 2, -100, -100, -100, 8, 9, 10, 2], batch.Labels.data<long>().ToArray());
        Assert.Equal([1L, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1], batch.AttentionMask!.data<long>().ToArray());
        Assert.Equal(11, batch.Tokens);
    }

    [Fact]
    public void Preference_batches_put_the_chosen_rows_before_the_rejected_rows()
    {
        using var batch = TrainingBatch.Preferences([new PreferenceExample([1, 4], [5, 2], [6, 6, 2])], padId: 0, TorchSharp.torch.CPU);
        Assert.Equal([1L, 4, 5, 2, 0, 1, 4, 6, 6, 2], batch.Ids.data<long>().ToArray());
        Assert.Equal([-100L, -100, 5, 2, -100, -100, -100, 6, 6, 2], batch.Labels.data<long>().ToArray());
    }

    [Fact]
    public void Records_whose_prompt_fills_max_length_are_dropped_and_long_completions_keep_their_start()
    {
        var path = Write("ids.jsonl",
            """{"prompt_input_ids": [1, 2, 3, 4], "completion_input_ids": [5]}""",
            """{"prompt_input_ids": [1, 2], "completion_input_ids": [5, 6, 7, 8]}""");
        var (examples, dropped) = TrainingData.ReadSft(path, null, maxLength: 4);
        Assert.Equal(1, dropped);
        Assert.Equal([5, 6], Assert.Single(examples).Completion);
    }

    [Fact]
    public void Trl_input_ids_with_a_completion_mask_split_at_the_first_completion_token()
    {
        var path = Write("ids.jsonl", """{"input_ids": [1, 9, 9, 5, 2], "completion_mask": [0, 0, 0, 1, 1]}""");
        var e = Assert.Single(TrainingData.ReadSft(path, null).Examples);
        Assert.Equal([1, 9, 9], e.Prompt);
        Assert.Equal([5, 2], e.Completion);
    }

    [Fact]
    public void A_bad_line_is_reported_with_its_file_and_line_number()
    {
        var path = Write("bad.jsonl", """{"prompt_input_ids": [1], "completion_input_ids": [2]}""", "", "{not json");
        var e = Assert.Throws<FormatException>(() => TrainingData.ReadSft(path, null));
        Assert.StartsWith("bad.jsonl line 3:", e.Message);
    }

    [Fact]
    public void Text_records_without_a_tokenizer_ask_for_pre_tokenized_ids()
    {
        var path = Write("text.jsonl", """{"prompt": "Hi", "chosen": "a", "rejected": "b"}""");
        var e = Assert.Throws<FormatException>(() => TrainingData.ReadPreferences(path, null));
        Assert.Contains("prompt_input_ids", e.Message);
    }

    [Fact]
    public void The_data_order_is_a_function_of_the_step_and_covers_every_example_each_epoch()
    {
        var order = new DataOrder(7, 3, seed: 5, shuffle: true);
        var firstEpoch = Enumerable.Range(0, 7).SelectMany(s => order.Batch(s)).Take(7).ToArray();
        Assert.Equal(Enumerable.Range(0, 7), firstEpoch.Order());
        Assert.Equal(order.Batch(4), new DataOrder(7, 3, seed: 5, shuffle: true).Batch(4));
    }

    [Fact]
    public void Warm_up_rises_linearly_from_zero_then_stays_constant()
    {
        var o = new FineTuningOptions { Recipe = Recipe.Sft, Model = "m", Data = "d", Output = "o", Steps = 10, LearningRate = 1e-3, WarmupSteps = 4 };
        Assert.Equal([0, 2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3], Enumerable.Range(0, 6).Select(s => LearningRateSchedule.At(o, s, 10)));
    }
}
