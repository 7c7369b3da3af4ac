using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Ckpt.Extension.Tests;

/// <summary>
/// A notebook executed by real Jupyter: `python3 -m nbconvert --execute` with the repository's .NET kernelspec
/// (`JUPYTER_PATH=.jupyter`, installed by scripts/test.sh), errors allowed so every cell runs and each can be judged.
/// </summary>
sealed class JupyterRun
{
    public IReadOnlyList<ExecutedCell> Cells { get; }
    public string Log { get; }
    /// <summary>The size of the executed .ipynb as nbconvert wrote it.</summary>
    public long NotebookBytes { get; }
    /// <summary>The executed notebook, kept under artifacts/executed.</summary>
    public string ExecutedPath { get; }

    JupyterRun(IReadOnlyList<ExecutedCell> cells, string log, long notebookBytes, string executedPath) =>
        (Cells, Log, NotebookBytes, ExecutedPath) = (cells, log, notebookBytes, executedPath);

    /// <summary>"source -> error" for every cell that failed; empty when the notebook ran clean.</summary>
    public string[] CellErrors() =>
        Cells.Where(c => c.ErrorValue is not null).Select(c => $"{c.Source.Trim()} -> {c.ErrorValue}").ToArray();

    public ExecutedCell Cell(string sourceStart) =>
        Cells.SingleOrDefault(c => c.Source.StartsWith(sourceStart, StringComparison.Ordinal))
        ?? throw new InvalidOperationException($"no code cell starts with '{sourceStart}'");

    // dotnet-interactive picks its HTTP port by probing 2048-3000 and then binding; two kernels starting at the same
    // moment pick the same port and one dies with "address already in use" before it answers kernel_info. The test
    // classes run in parallel, so notebook runs take turns, and a run that still loses that race (to a kernel some
    // other process started) is tried again.
    internal static readonly object Turn = new();
    const int Attempts = 3;

    public static JupyterRun Execute(string notebookRelativePath)
    {
        lock (Turn)
        {
            for (var attempt = 1; ; attempt++)
            {
                try { return ExecuteOnce(notebookRelativePath); }
                catch (KernelPortTakenException) when (attempt < Attempts) { Thread.Sleep(TimeSpan.FromSeconds(attempt)); }
            }
        }
    }

    sealed class KernelPortTakenException(string message) : InvalidOperationException(message);

    static JupyterRun ExecuteOnce(string notebookRelativePath)
    {
        var repo = TestPaths.RepoRoot;
        var notebook = Path.Combine(repo, notebookRelativePath);
        var kernelspec = Path.Combine(repo, ".jupyter", "kernels", ".net-csharp", "kernel.json");
        var feed = Path.Combine(repo, "artifacts", "feed", "Ckpt.Extension.0.1.0.nupkg");
        foreach (var (file, what) in new[] { (kernelspec, "the .NET kernelspec"), (feed, "the packed extension"), ("/usr/bin/python3", "python3") })
            if (!File.Exists(file))
                throw new InvalidOperationException($"{what} is missing ({file}): run scripts/test.sh, which installs it");

        var output = Directory.CreateTempSubdirectory("ckpt-nb-").FullName;
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            WorkingDirectory = repo,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-m", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
                     "--ExecutePreprocessor.timeout=600", "--ExecutePreprocessor.startup_timeout=300",
                     "--output-dir", output, "--output", "executed", notebook })
            psi.ArgumentList.Add(a);
        psi.Environment["JUPYTER_PATH"] = Path.Combine(repo, ".jupyter");
        psi.Environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        // The notebooks load LibTorch as a user's would; only this test process pretends to have none (WithoutLibTorch).
        psi.Environment.Remove(Ckpt.Models.TorchNativeLibraries.OverrideVariable);

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(12)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"nbconvert did not finish {notebookRelativePath} in 12 minutes");
        }
        var log = stdout.Result + stderr.Result;
        var executed = Path.Combine(output, "executed.ipynb");
        if (process.ExitCode != 0 && log.Contains("address already in use", StringComparison.Ordinal))
            throw new KernelPortTakenException($"the kernel for {notebookRelativePath} lost its HTTP port to another kernel:\n{Tail(log)}");
        if (process.ExitCode != 0 || !File.Exists(executed))
            throw new InvalidOperationException($"nbconvert failed on {notebookRelativePath} (exit {process.ExitCode}):\n{Tail(log)}");

        var bytes = new FileInfo(executed).Length;
        using var doc = JsonDocument.Parse(File.ReadAllText(executed));
        var cells = doc.RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.GetProperty("cell_type").GetString() == "code")
            .Select(ExecutedCell.From)
            .ToArray();
        // Kept for a look (and for the HTML export test): artifacts/executed/<notebook>.ipynb.
        var kept = Path.Combine(repo, "artifacts", "executed", Path.GetFileName(notebookRelativePath));
        Directory.CreateDirectory(Path.GetDirectoryName(kept)!);
        File.Copy(executed, kept, overwrite: true);
        try { Directory.Delete(output, recursive: true); } catch (IOException) { }
        return new JupyterRun(cells, log, bytes, kept);
    }

    static string Tail(string s) => s.Length <= 4000 ? s : s[^4000..];
}

/// <summary>A code cell after execution: its source, its outputs' text by MIME type, and its error if it failed.</summary>
sealed record ExecutedCell(string Source, IReadOnlyList<(string MimeType, string Text)> Outputs, string? ErrorValue, IReadOnlyList<string> Traceback)
{
    public const string PlotlyMime = "application/vnd.plotly.v1+json";

    public string Text(string mimeType) => string.Join("\n", Outputs.Where(o => o.MimeType == mimeType).Select(o => o.Text));

    /// <summary>The cell's Plotly figures in output order (a live chart's redraws end with its final figure).</summary>
    public IReadOnlyList<JsonElement> Figures() =>
        Outputs.Where(o => o.MimeType == PlotlyMime).Select(o =>
        {
            using var doc = JsonDocument.Parse(o.Text);
            // The .NET kernel sends the figure as JSON text; a front end that stores it as an object gives the object.
            return doc.RootElement.ValueKind == JsonValueKind.String
                ? JsonDocument.Parse(doc.RootElement.GetString()!).RootElement.Clone()
                : doc.RootElement.Clone();
        }).ToList();

    public static ExecutedCell From(JsonElement cell)
    {
        var outputs = new List<(string, string)>();
        string? error = null;
        var traceback = new List<string>();
        foreach (var o in cell.GetProperty("outputs").EnumerateArray())
        {
            switch (o.GetProperty("output_type").GetString())
            {
                case "error":
                    error = o.GetProperty("evalue").GetString();
                    traceback.AddRange(o.GetProperty("traceback").EnumerateArray().Select(t => t.GetString() ?? ""));
                    break;
                case "stream":
                    outputs.Add(("stream/" + o.GetProperty("name").GetString(), Joined(o.GetProperty("text"))));
                    break;
                default:
                    foreach (var d in o.GetProperty("data").EnumerateObject())
                        outputs.Add((d.Name, Joined(d.Value)));
                    break;
            }
        }
        return new ExecutedCell(Joined(cell.GetProperty("source")), outputs, error, traceback);
    }

    // nbformat stores multi-line strings either whole or as a list of lines.
    static string Joined(JsonElement value) => value.ValueKind == JsonValueKind.Array
        ? string.Concat(value.EnumerateArray().Select(l => l.GetString()))
        : value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
}
