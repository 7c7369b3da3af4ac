using Ckpt.Manifest;
using Ckpt.Tensors;

namespace Ckpt.Extension.Tests;

public sealed class ManifestHtmlTests
{
    static CheckpointManifest Manifest(IReadOnlyList<ObjectEntry> objects, ParallelLayout? layout = null) => new()
    {
        Format = "dcp",
        Framework = "fsdp2",
        Layout = layout ?? ParallelLayout.Single,
        Tensors = [new TensorEntry("w", DType.BF16, [4, 2], [
            new Fragment([0, 0], [2, 2], new Payload("__0_0.distcp", 0, 8), [2, 1], 0, 0),
            new Fragment([2, 0], [2, 2], new Payload("__1_0.distcp", 0, 8), [2, 1], 0, 1)])],
        Objects = objects,
        Files = [new StorageFile("__0_0.distcp", 8), new StorageFile("__1_0.distcp", 8), new StorageFile(".metadata", 100)],
    };

    [Fact]
    public void The_summary_names_the_world_size_of_a_sharded_checkpoint()
    {
        var html = ManifestHtml.Render(Manifest([], new ParallelLayout(2, [2], "FSDP over 2 ranks")));

        Assert.Contains("dcp (fsdp2), world size 2, 1 tensor, 8 parameters (BF16 8), 16 B of tensors, 3 files, 116 B", html);
        Assert.Contains("Layout: FSDP over 2 ranks", html);
        Assert.Contains("<tr><td>w</td><td>BF16</td><td>[4, 2]</td><td>16</td><td>2</td></tr>", html);
    }

    [Fact]
    public void Non_tensor_values_get_their_own_table_with_long_values_shortened()
    {
        var html = ManifestHtml.Render(Manifest([new ObjectEntry("train_state.step", "int", 7L), new ObjectEntry("note", "str", new string('x', 1000))]));

        Assert.Contains("2 non-tensor values", html);
        Assert.Contains("<tr><td>train_state.step</td><td>int</td><td>7</td></tr>", html);
        Assert.Contains(new string('x', ManifestHtml.MaxMetadataValueLength) + "…</td>", html);
        Assert.DoesNotContain(new string('x', ManifestHtml.MaxMetadataValueLength + 1), html);
    }

    [Fact]
    public void A_checkpoint_without_non_tensor_values_has_no_such_table() =>
        Assert.DoesNotContain("ckpt-objects", ManifestHtml.Render(Manifest([])));
}
