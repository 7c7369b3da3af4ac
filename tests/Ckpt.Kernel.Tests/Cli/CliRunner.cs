namespace Ckpt.Tests.Cli;

/// <summary>Runs the `ckpt` CLI in-process, capturing stdout and stderr, as every CLI test does.</summary>
public static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = global::Ckpt.Cli.Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
