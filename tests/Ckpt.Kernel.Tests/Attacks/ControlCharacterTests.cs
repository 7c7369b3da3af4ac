using Ckpt.Charts;
using Ckpt.Conversion;
using Ckpt.Inspection;
using Ckpt.Errors;

namespace Ckpt.Tests.Attacks;

/// <summary>
/// Names from a file (tensor names, dtypes, keys) and from the user (paths) can hold newlines and terminal escapes.
/// Every error sentence shows them escaped, so it stays one line and cannot recolour a terminal; HTML does the same.
/// </summary>
public class ControlCharacterTests
{
    [Fact]
    public void Control_characters_are_shown_as_escapes_and_everything_else_is_kept()
    {
        Assert.Equal(@"a\nb\r\tc\u001B[31md\u0000e\u0085f\u2028g", ControlCharacters.Escape("a\nb\r\tc\u001B[31md\0e\u0085f\u2028g"));
        Assert.Equal("größe.权重 ✓", ControlCharacters.Escape("größe.权重 ✓"));
    }

    [Fact]
    public void A_dtype_and_tensor_name_with_a_newline_give_a_one_line_sentence_naming_them_escaped()
    {
        var file = HostileNames.Safetensors(Path.Combine(TestPaths.TempDirectory("names"), "model.safetensors"), "layer\n0.weight", "F\u001B[2J32");
        var (error, _) = HostileCorpusTests.OpenAndReadAll(file);
        Assert.Equal(FormatErrorReason.UnknownDType, error?.Reason);
        Assert.DoesNotContain('\n', error!.Message);
        Assert.DoesNotContain('\u001B', error.Message);
        Assert.Contains(@"tensor 'layer\n0.weight'", error.Message);
        Assert.Contains(@"dtype 'F\u001B[2J32'", error.Message);
    }

    [Fact]
    public void A_path_with_a_newline_is_escaped_in_the_sentence()
    {
        var dir = Path.Combine(TestPaths.TempDirectory("names"), "two\nlines");
        var error = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MissingFile, error.Reason);
        Assert.Contains(@"two\nlines", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_chart_document_shows_a_title_with_control_characters_escaped()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-gpt2-tiny"));
        var input = InspectionJson.Layout(ckpt.Path, CheckpointLayout.Of(ckpt.Manifest, TensorFilter.All), ModuleTree.Of(ckpt.Manifest, TensorFilter.All));
        var html = ChartRenderer.Document("layout", input.ToJsonString(), "Layout of a\nb\u001B");
        Assert.Contains(@"<title>Layout of a\nb\u001B</title>", html);
    }
}
