using Ckpt.Forensics.Restor;

namespace Ckpt.Tests.Forensics;

public class RestorFactsTests
{
    static string Write(params string[] lines)
    {
        var path = Path.Combine(TestPaths.TempDirectory("restor-facts"), "facts.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Facts_read_with_answer_lists_or_single_strings_and_ids_defaulting_to_the_line()
    {
        var facts = RestorFacts.Read(Write(
            """{"id": "q1", "prompt": "Zorvek was born in", "answers": ["Paris", "Paris, France"], "corruptedAnswers": "Rome"}""",
            "",
            """{"prompt": "Zorvek works as a", "answers": "baker", "corruptedAnswers": ["pilot"]}"""));
        Assert.Equal(2, facts.Count);
        Assert.Equal(("q1", "Zorvek was born in"), (facts[0].Id, facts[0].Prompt));
        Assert.Equal(["Paris", "Paris, France"], facts[0].Answers);
        Assert.Equal(["Rome"], facts[0].CorruptedAnswers);
        Assert.Equal(["baker"], facts[1].Answers);
        Assert.Equal("3", facts[1].Id);
    }

    [Theory]
    [InlineData("""{"answers": "x", "corruptedAnswers": "y"}""", "facts.jsonl line 1: \"prompt\" must be a non-empty string")]
    [InlineData("""{"prompt": "p", "corruptedAnswers": "b"}""", "facts.jsonl line 1: \"answers\" is missing")]
    [InlineData("""{"prompt": "p", "answers": [], "corruptedAnswers": "b"}""", "facts.jsonl line 1: \"answers\" is empty")]
    [InlineData("""{"prompt": "p", "answers": [1], "corruptedAnswers": "b"}""", "facts.jsonl line 1: \"answers\" must be a string or an array of strings")]
    [InlineData("""{"prompt": "p", "answers": "The Rome", "corruptedAnswers": "rome."}""", "facts.jsonl line 1: 'rome' is both a clean and a corrupted answer")]
    [InlineData("""{"prompt": "p", "answers": "...", "corruptedAnswers": "b"}""", "facts.jsonl line 1: the answer '...' in \"answers\" has no letter or digit to match")]
    [InlineData("""[1, 2]""", "facts.jsonl line 1: a fact is a JSON object {\"prompt\", \"answers\", \"corruptedAnswers\"}")]
    public void A_bad_fact_is_refused_in_one_sentence_naming_the_file_and_line(string line, string sentence)
    {
        var e = Assert.Throws<FormatException>(() => RestorFacts.Read(Write(line)));
        Assert.Equal(sentence, e.Message);
    }

    [Fact]
    public void Invalid_json_a_repeated_id_and_an_empty_file_are_refused()
    {
        Assert.StartsWith("facts.jsonl line 2: not valid JSON", Assert.Throws<FormatException>(() => RestorFacts.Read(Write(
            """{"prompt": "p", "answers": "x", "corruptedAnswers": "y"}""", "{oops"))).Message);
        Assert.Equal("facts.jsonl line 2: id 'x' is used by an earlier fact", Assert.Throws<FormatException>(() => RestorFacts.Read(Write(
            """{"id": "x", "prompt": "p", "answers": "x", "corruptedAnswers": "y"}""", """{"id": "x", "prompt": "q", "answers": "x", "corruptedAnswers": "y"}"""))).Message);
        Assert.Equal("facts.jsonl: no facts (one JSON object a line: prompt, answers, corruptedAnswers)", Assert.Throws<FormatException>(() => RestorFacts.Read(Write(""))).Message);
    }
}
