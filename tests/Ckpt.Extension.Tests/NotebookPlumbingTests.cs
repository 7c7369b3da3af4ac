using System.Text.Json;

namespace Ckpt.Extension.Tests;

/// <summary>The notebooks start with the extension alone: LibTorch is the extension's to load, not the reader's.</summary>
public class NotebookPlumbingTests
{
    [Theory]
    [InlineData("03-reshard-and-merge.ipynb")]
    [InlineData("04-checkfree-recovery.ipynb")]
    [InlineData("05-finetune-sft-then-dpo.ipynb")]
    [InlineData("06-restor.ipynb")]
    [InlineData("07-smoothinv.ipynb")]
    public void A_model_notebook_has_no_LibTorch_cell(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "notebooks", name)));
        var code = doc.RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.GetProperty("cell_type").GetString() == "code")
            .Select(c => string.Concat(c.GetProperty("source").EnumerateArray().Select(l => l.GetString())))
            .ToList();
        Assert.Equal("#r \"nuget: Ckpt.Extension, 0.1.0\"", code[0]);
        Assert.DoesNotContain(code, c => c.Contains("libtorch", StringComparison.OrdinalIgnoreCase) || c.Contains("TorchNativeLibraries"));
    }
}
