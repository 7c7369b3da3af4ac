namespace Ckpt.Tests.Cli;

/// <summary>
/// A verb's positional value may also be given by its option's name, on the CLI as in the magic (one definition in
/// Kernel: `ckpt generate m` and `ckpt generate --model m`), and a fixed count is refused in one sentence.
/// </summary>
public sealed class PositionalByNameTests
{
    static string Sharded => TestPaths.Fixture("hf-llama-tiny-sharded");

    [Fact]
    public void Layout_takes_its_checkpoint_with_or_without_the_option_name()
    {
        var positional = CliRunner.Run("layout", Sharded, "--json");
        var named = CliRunner.Run("layout", "--checkpoint", Sharded, "--json");
        Assert.Equal(0, positional.Code);
        Assert.Equal(positional.Out, named.Out);
    }

    [Fact]
    public void Diff_given_one_checkpoint_says_it_needs_two_and_exits_2()
    {
        var (code, stdout, stderr) = CliRunner.Run("diff", Sharded);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("ckpt: diff needs two checkpoints and was given one value", stderr.Trim());
    }

    [Fact]
    public void A_checkpoint_given_both_ways_is_given_twice()
    {
        var (code, _, stderr) = CliRunner.Run("inspect", Sharded, "--path", Sharded);
        Assert.Equal(2, code);
        Assert.Contains("--path was given 2 times (one value expected)", stderr);
    }
}
