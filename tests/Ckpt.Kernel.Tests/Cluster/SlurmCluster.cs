using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ckpt.Tests.Cluster;

/// <summary>
/// A one-node Slurm cluster from Debian's slurm-wlm, started for one test and stopped after it: slurmctld and slurmd in
/// the foreground (-D) on free 127.0.0.1 ports, with a generated slurm.conf, state and spool folders in a temp folder.
/// Authentication is `auth/none` and `cred/none` (plugins slurm-wlm ships), so no munge daemon or key is needed on a
/// machine where only this user submits. The node is named `ckpt-node` (slurmd -N) at 127.0.0.1; the controller must
/// carry this machine's short host name, which slurmctld checks against SlurmctldHost.
/// </summary>
public sealed class SlurmCluster : IDisposable
{
    readonly List<Process> _daemons = [];
    readonly string _dir;

    /// <summary>What this machine lacks to run the cluster, or null.</summary>
    public static string? Missing { get; } = Probe();

    static string? Probe()
    {
        var missing = new[] { "slurmctld", "slurmd", "sbatch", "sinfo" }.Where(t => Tool(t) is null).ToArray();
        return missing.Length > 0 ? $"{string.Join(", ", missing)} not found: install Debian's slurm-wlm (scripts/test.sh does)" : null;
    }

    static string? Tool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/usr/bin", "/sbin"])
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    public SlurmCluster()
    {
        _dir = TestPaths.TempDirectory("slurm");
        foreach (var sub in new[] { "state", "spool", "log" }) Directory.CreateDirectory(Path.Combine(_dir, sub));
        var host = Run("hostname", "-s").Trim();
        var user = Run("id", "-un").Trim();
        Conf = Path.Combine(_dir, "slurm.conf");
        File.WriteAllText(Conf, $"""
            ClusterName=ckpt
            SlurmctldHost={host}(127.0.0.1)
            SlurmctldPort={FreePort()}
            SlurmdPort={FreePort()}
            AuthType=auth/none
            CredType=cred/none
            SlurmUser={user}
            SlurmdUser={user}
            StateSaveLocation={_dir}/state
            SlurmdSpoolDir={_dir}/spool
            SlurmctldPidFile={_dir}/slurmctld.pid
            SlurmdPidFile={_dir}/slurmd.pid
            SlurmctldLogFile={_dir}/log/slurmctld.log
            SlurmdLogFile={_dir}/log/slurmd.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            MpiDefault=none
            SchedulerType=sched/builtin
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            ReturnToService=2
            NodeName=ckpt-node NodeAddr=127.0.0.1 CPUs={Environment.ProcessorCount} State=UNKNOWN
            PartitionName=ckpt Nodes=ckpt-node Default=YES MaxTime=INFINITE State=UP

            """);
        Start(Tool("slurmctld")!, "-D", "-f", Conf);
        Start(Tool("slurmd")!, "-D", "-f", Conf, "-N", "ckpt-node");
        WaitUntilIdle();
    }

    public string Conf { get; }

    /// <summary>The environment a Slurm client (sbatch, sinfo) needs to reach this cluster.</summary>
    public void Configure(ProcessStartInfo info) => info.Environment["SLURM_CONF"] = Conf;

    /// <summary>The daemons' logs, for a failure message.</summary>
    public string Logs() => string.Join("\n", Directory.EnumerateFiles(Path.Combine(_dir, "log"))
        .Select(f => $"--- {Path.GetFileName(f)}\n{string.Join("\n", File.ReadLines(f).TakeLast(30))}"));

    void Start(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        Configure(info);
        var p = Process.Start(info)!;
        var log = Path.Combine(_dir, "log", Path.GetFileName(tool) + ".out");
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_daemons) File.AppendAllText(log, e.Data + "\n"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_daemons) File.AppendAllText(log, e.Data + "\n"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _daemons.Add(p);
    }

    void WaitUntilIdle()
    {
        // A daemon that dies fails at once (below); the deadline only guards a hang, so a busy machine never reaches it.
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (true)
        {
            if (_daemons.FirstOrDefault(p => p.HasExited) is { } dead)
                throw new InvalidOperationException($"a slurm daemon exited with {dead.ExitCode} before the node was up:\n{Logs()}");
            var info = new ProcessStartInfo(Tool("sinfo")!, "-h -N -o %T") { RedirectStandardOutput = true, RedirectStandardError = true };
            Configure(info);
            using var sinfo = Process.Start(info)!;
            var state = sinfo.StandardOutput.ReadToEnd().Trim();
            sinfo.WaitForExit();
            if (state == "idle") return;
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"the slurm node is '{state}', not idle, after 10 minutes:\n{Logs()}");
            Thread.Sleep(200);
        }
    }

    static string Run(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text;
    }

    static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose()
    {
        foreach (var p in _daemons)
        {
            try { if (!p.HasExited) { p.Kill(entireProcessTree: true); p.WaitForExit(10000); } }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A test that needs slurm-wlm: skipped where it is not installed, failed under CI.</summary>
public sealed class SlurmFactAttribute() : RequiredFactAttribute(SlurmCluster.Missing ?? ObjectStores.ObjectStoreServers.Missing);
