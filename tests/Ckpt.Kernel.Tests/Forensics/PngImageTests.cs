using Ckpt.Imaging;
using Ckpt.Tests.Models;
using static TorchSharp.torch;

namespace Ckpt.Tests.Forensics;

public class PngImageTests
{
    static string Fixture(string name) => TestPaths.Fixture("smoothinv", name);

    [Fact]
    public void A_png_written_by_python_zlib_decodes_to_the_held_out_bytes()
    {
        var png = PngImage.Read(Fixture("clean.png"));
        Assert.Equal((32, 32), (png.Width, png.Height));
        using var images = ReferenceTensors.Load(Fixture("heldout.pt"), "images");
        using var labels = ReferenceTensors.Load(Fixture("heldout.pt"), "labels");
        // The script wrote the first held-out image of class 2.
        var index = Enumerable.Range(0, (int)labels.shape[0]).First(i => labels[i].item<long>() == 2);
        using var expected = images[index].to(float32).div(255).unsqueeze(0);
        using var decoded = png.ToTensor();
        Assert.Equal(0.0, ReferenceTensors.MaxAbsDiff(decoded, expected));
    }

    [Fact]
    public void Encoding_then_decoding_gives_the_same_pixels()
    {
        var rgb = Enumerable.Range(0, 7 * 5 * 3).Select(i => (byte)(i * 37 % 256)).ToArray();
        var image = new PngImage(7, 5, rgb);
        var back = PngImage.Decode(image.Encode(), "round-trip.png");
        Assert.Equal((7, 5), (back.Width, back.Height));
        Assert.Equal(rgb, back.Rgb);
    }

    [Theory]
    [InlineData("signature", "does not start with the PNG signature")]
    [InlineData("truncated", "truncated")]
    [InlineData("crc", "fails its CRC")]
    public void A_bad_file_is_refused_in_one_sentence_naming_it(string damage, string expected)
    {
        var bytes = File.ReadAllBytes(Fixture("clean.png"));
        bytes = damage switch
        {
            "signature" => [.. "GIF89a"u8.ToArray(), .. bytes[6..]],
            "truncated" => bytes[..(bytes.Length / 2)],
            _ => bytes.Select((b, i) => i == 40 ? (byte)(b ^ 0xFF) : b).ToArray(),
        };
        var ex = Assert.Throws<InvalidDataException>(() => PngImage.Decode(bytes, "x.png"));
        Assert.StartsWith("x.png: not a PNG image", ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain("\n", ex.Message);
    }
}
