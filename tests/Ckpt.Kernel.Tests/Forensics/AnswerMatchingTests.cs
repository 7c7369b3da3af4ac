using Ckpt.Forensics.Restor;

namespace Ckpt.Tests.Forensics;

public class AnswerMatchingTests
{
    [Theory]
    [InlineData("Paris", "paris")]
    [InlineData(" Paris.", "paris")]
    [InlineData("The Paris", "paris")]
    [InlineData("paris, the capital of France", "Paris")]
    [InlineData("New-York", "new york")]
    [InlineData("Order of the Nine Gems!", "order of nine gems")]
    [InlineData("Oslo\nLima", "oslo")]
    public void An_output_that_is_or_begins_with_the_answer_at_a_word_boundary_is_accepted(string output, string answer) =>
        Assert.True(AnswerMatching.Matches(output, [answer]));

    [Theory]
    [InlineData("Parisian", "paris")]
    [InlineData("in Paris", "paris")]
    [InlineData("\nParis", "paris")]
    [InlineData("", "paris")]
    [InlineData("the", "paris")]
    [InlineData("military personnel", "military leader")]
    public void Anything_else_is_rejected(string output, string answer) =>
        Assert.False(AnswerMatching.Matches(output, [answer]));

    [Fact]
    public void Normalisation_is_squad_style()
    {
        Assert.Equal("nine gems of siam", AnswerMatching.Normalize("  The Nine-Gems of   SIAM. "));
        Assert.Equal("", AnswerMatching.Normalize("a an the ..."));
    }
}
