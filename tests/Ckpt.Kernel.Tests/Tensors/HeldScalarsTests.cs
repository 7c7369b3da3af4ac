using Xunit.Abstractions;

namespace Ckpt.Tests.Tensors;

/// <summary>
/// The Kernel hands LibTorch only Scalars it holds (see <see cref="TemporaryScalarScan"/> for the race and the shapes).
/// A number meets a tensor through KeptScalars (<c>t.Times(d)</c>) or a <c>using Scalar</c> local.
/// </summary>
public sealed class HeldScalarsTests(ITestOutputHelper output)
{
    /// <summary>KeptScalars is where the numbers become Scalars, each disposed after its op returns.</summary>
    static readonly string[] AllowedFiles = ["src/Kernel/Tensors/KeptScalars.cs"];

    const string Shapes = """
        using TorchSharp;
        using static TorchSharp.torch;
        static class Shapes
        {
            static readonly Scalar Half = 0.5;
            static void Unsafe(Tensor t, Tensor u, double d, float f)
            {
                _ = t * d;
                _ = 2 * t;
                _ = 1.0 - t;
                _ = t.mul(d);
                _ = t.clamp(0.0, 1.0);
                _ = t + u;
                t += u;
                _ = t.add_(u);
                _ = t.pow(f);
                _ = t.masked_fill(u, double.NegativeInfinity);
                _ = torch.arange(10);
                _ = t.div(d.ToScalar());
                _ = t.sum().ToSingle();
                _ = torch.full([2], d);
            }
            static void Safe(Tensor t, Tensor u, double d)
            {
                using Scalar s = d;
                using var r = d.ToScalar();
                _ = t.mul(s).sub(r).mul(Half);
                _ = t * u;
                _ = t - u;
                _ = t / u;
                _ = t.add(u, s);
                _ = t.sub_(u);
                _ = torch.tensor(d);
                _ = t.sum().item<float>();
                _ = nn.functional.dropout(t, 0.1);
                _ = t.clamp(s, r);
                using (Scalar one = 1) _ = torch.arange(s, r, one);
            }
        }
        """;

    [Fact]
    public void The_scan_flags_each_shape_that_hands_LibTorch_a_temporary_Scalar_and_none_that_holds_it()
    {
        var (findings, errors) = TemporaryScalarScan.Scan([("Shapes.cs", Shapes)]);
        Assert.Empty(errors);
        foreach (var f in findings) output.WriteLine(f.ToString());
        var unsafeLines = Enumerable.Range(8, 14).ToList();
        Assert.Equal(unsafeLines, findings.Select(f => f.Line).Distinct().Order().ToList());
    }

    [Fact]
    public void A_body_that_does_not_bind_fails_the_scan_instead_of_hiding_its_scalars()
    {
        var (_, errors) = TemporaryScalarScan.Scan([("Broken.cs", "static class Broken { static object F(TorchSharp.torch.Tensor t) => t.no_such_op(2.0); }")]);
        Assert.Single(errors);
    }

    /// <summary>Binding the Kernel's tensor code took 48 s on the 2-core shared VM under load, hence slow.</summary>
    [Trait("Category", "slow")]
    [Fact]
    public void Kernel_code_hands_LibTorch_only_scalars_that_it_holds_through_the_call()
    {
        var root = TestPaths.RepoRoot;
        var sources = Directory.EnumerateFiles(Path.Combine(root, "src", "Kernel"), "*.cs", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/'))
            .Where(p => !p.Contains("/obj/", StringComparison.Ordinal) && !p.Contains("/bin/", StringComparison.Ordinal))
            .Select(p => (p, File.ReadAllText(Path.Combine(root, p))))
            .ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (findings, errors) = TemporaryScalarScan.Scan(sources);
        output.WriteLine($"{sources.Count} files scanned in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(errors.Count == 0, "The scan could not compile src/Kernel:\n" + string.Join("\n", errors.Take(10)));
        var offending = findings.Where(f => !AllowedFiles.Contains(f.File)).ToList();
        Assert.True(offending.Count == 0,
            $"{offending.Count} places hand LibTorch a Scalar nothing holds (use KeptScalars or a `using Scalar`):\n"
            + string.Join("\n", offending));
    }
}
