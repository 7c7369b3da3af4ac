using System.Collections.Concurrent;
using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Planning;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.Formats;

/// <summary>
/// No ByteCheckpoint (nor torch 2.x FSDP) is installed here, so each checkpoint is built at test time from the layout
/// ByteCheckpoint v0.0.3 writes (tests/python/make_bytecheckpoint.py, Debian's torch 1.13): FSDP flat parameters
/// with alignment padding split evenly over 2-4 ranks (shards cut parameters mid-row), raw chunk bytes in
/// `__{r}_0.distcp` with each chunk's tensor pickle in `all_tensor_metadata`, optimizer states per parameter piece,
/// per-rank extra state, and reference.pt with every tensor under the name the reader should give it.
/// </summary>
[Trait("Category", "slow")]
public class ByteCheckpointFormatTests : IClassFixture<ByteCheckpointFormatTests.Built>
{
    public sealed class Built
    {
        readonly ConcurrentDictionary<string, Lazy<string>> _dirs = new();
        public string Dir(int world, params string[] options) =>
            _dirs.GetOrAdd($"{world} {string.Join(' ', options)}", _ => new Lazy<string>(() => Build(world, options))).Value;
    }

    readonly Built _built;
    public ByteCheckpointFormatTests(Built built) => _built = built;

    static string Build(int world, params string[] options)
    {
        var dir = TestPaths.TempDirectory($"bytecheckpoint-{world}");
        var script = Path.Combine(TestPaths.RepoRoot, "tests", "python", "make_bytecheckpoint.py");
        var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(script), [dir, world.ToString(), .. options]);
        Assert.True(code == 0, stdout + stderr);
        return dir;
    }

    [PythonTorchTheory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Every_tensor_equals_its_source_bit_for_bit(int world)
    {
        var dir = _built.Dir(world);
        using var ckpt = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));
        ReferenceParity.AssertDescribed(ckpt, "bytecheckpoint", world, "fsdp");
        ReferenceParity.AssertSameTensors(reference, ckpt, "from its source");
    }

    [PythonTorchFact]
    public void A_parameter_cut_mid_row_by_flat_shards_is_boxes_over_the_shards_bytes()
    {
        var dir = _built.Dir(3);
        using var ckpt = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));
        var embed = ckpt.GetEntry("embed.weight");
        // 40×12 + 3 padding + 9×12 + 9 = 600 flat elements, 200 per rank: rank 0 holds rows 0-15 and 8 of row 16.
        Assert.Equal([0, 1, 2], embed.Fragments.Select(f => f.WriterRank ?? -1).Distinct().Order());
        Assert.Contains(embed.Fragments, f => f.Offsets.SequenceEqual([16L, 0]) && f.Lengths.SequenceEqual([1L, 8]) && f.WriterRank == 0);
        Assert.All(embed.Fragments, f => Assert.True(f.Payload.IsRaw));
        var window = new Box([14, 3], [5, 7]);
        using var want = reference.Read("embed.weight", window);
        using var got = ckpt.Read("embed.weight", window);
        Assert.True(want.Bytes.SequenceEqual(got.Bytes));
    }

    [PythonTorchFact]
    public void Reading_one_layer_reads_at_most_5_percent_more_bytes_than_it_needs()
    {
        using var ckpt = Checkpoint.Open(_built.Dir(4));
        var layer = ckpt.Manifest.Tensors.Where(t => t.Name.StartsWith("layers.0.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, layer.Length);
        ReferenceParity.AssertReadsAtMost(ckpt, layer, 1.05);
    }

    [PythonTorchFact]
    public void Extra_state_and_param_groups_are_objects()
    {
        using var ckpt = Checkpoint.Open(_built.Dir(2));
        var objects = ckpt.Manifest.Objects.ToDictionary(o => o.Name);
        Assert.Equal(1L, objects["extra_state.rank_1.rank"].Value);
        Assert.Equal(100L, objects["extra_state.rank_0.global_step"].Value);
        Assert.Equal("global_step_100/extra_state/extra_state_rank_1.pt", objects["extra_state.rank_1.rng"].File);
        Assert.Equal("list", objects["optimizer.param_groups"].Kind);
        Assert.Equal("0.0.3", ckpt.Manifest.Metadata["bytecheckpoint.version"]);
    }

    [PythonTorchFact]
    public void The_model_folder_opened_on_its_own_is_read_and_plain_dcp_stays_dcp()
    {
        var dir = _built.Dir(2);
        using var model = Checkpoint.Open(Path.Combine(dir, "global_step_100", "model"));
        Assert.Equal("bytecheckpoint", model.Manifest.Format);
        Assert.NotNull(model.Manifest.Find("layers.0.scale"));
        Assert.DoesNotContain(model.Manifest.Tensors, t => t.Name.StartsWith("optimizer.", StringComparison.Ordinal));
        using var plain = Checkpoint.Open(TestPaths.Fixture("dcp-fsdp2-4rank"));
        Assert.Equal("dcp", plain.Manifest.Format);
    }

    [PythonTorchFact]
    public void Inspect_convert_and_reshard_through_the_cli_keep_every_tensor()
    {
        var dir = _built.Dir(3);
        var (code, stdout, stderr) = CliRunner.Run("inspect", dir, "--json");
        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal("bytecheckpoint", doc.RootElement.GetProperty("format").GetString());
            Assert.Equal(3, doc.RootElement.GetProperty("worldSize").GetInt32());
        }
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));

        var converted = TestPaths.TempDirectory("bytecheckpoint-convert");
        (code, _, stderr) = CliRunner.Run("convert", dir, "--to", "safetensors", "--out", converted);
        Assert.True(code == 0, stderr);
        using (var copy = Checkpoint.Open(converted)) ReferenceParity.AssertSameTensors(reference, copy, "after conversion");

        var resharded = TestPaths.TempDirectory("bytecheckpoint-reshard");
        (code, _, stderr) = CliRunner.Run("reshard", dir, "--world-size", "2", "--out", resharded, "--json");
        Assert.True(code == 0, stderr);
        using (var copy = Checkpoint.Open(resharded)) ReferenceParity.AssertSameTensors(reference, copy, "after resharding");
    }

    [PythonTorchFact]
    public void A_missing_rank_file_is_refused_naming_the_file_and_a_tensor_in_it()
    {
        var dir = Build(3);
        File.Delete(Path.Combine(dir, "global_step_100", "model", "__1_0.distcp"));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Equal("global_step_100/model/__1_0.distcp", e.File);
        Assert.EndsWith("_flat_param", e.Tensor);
    }

    [PythonTorchFact]
    public void A_part_without_metadata_is_an_unfinished_save()
    {
        var dir = Build(2);
        File.Delete(Path.Combine(dir, "global_step_100", "optimizer", ".metadata"));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.Incomplete, e.Reason);
        Assert.Equal("global_step_100/optimizer/.metadata", e.File);
    }

    [PythonTorchFact]
    public void Overlapping_flat_shards_are_refused_with_both_ranges()
    {
        var dir = Build(3, "--overlap");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.OverlappingData, e.Reason);
        Assert.Equal("global_step_100/model/.metadata", e.File);
        Assert.Equal("_flat_param", e.Tensor);
        Assert.Equal(("a shard starting at or after 200", "197"), (e.Expected, e.Found));
    }

    // Multi-role runs (PPO's actor and critic, a distillation's teacher and student): one bcp.save per role, each to its
    // own ckpt_path, side by side (make_bytecheckpoint.py --roles). The root opens as one checkpoint, `<role>/<name>`.
    static readonly string[] ActorCritic = ["--roles", "actor,critic"];
    static readonly string[] TeacherStudentNoStep = ["--roles", "teacher,student", "--no-step"];

    [PythonTorchFact]
    public void Roles_saved_side_by_side_open_as_one_checkpoint_named_by_role()
    {
        var dir = _built.Dir(2, ActorCritic);
        using var ckpt = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));

        ReferenceParity.AssertDescribed(ckpt, "bytecheckpoint", 2, "fsdp");
        ReferenceParity.AssertSameTensors(reference, ckpt, "from the roles' sources");
        Assert.Equal("actor, critic", ckpt.Manifest.Metadata["bytecheckpoint.roles"]);
        Assert.Equal("critic/global_step_100", ckpt.Manifest.Metadata["bytecheckpoint.critic.step_folder"]);
        Assert.Contains(ckpt.Manifest.Tensors, t => t.Name == "critic/optimizer.state.layers.0.attn.weight.exp_avg");
        var objects = ckpt.Manifest.Objects.ToDictionary(o => o.Name);
        Assert.Equal(1L, objects["critic/extra_state.rank_1.rank"].Value);
        Assert.Equal("list", objects["actor/optimizer.param_groups"].Kind);
        Assert.Contains(ckpt.Manifest.Files, f => f.Path == "actor/latest_checkpointed_iteration.txt");
        Assert.Contains(ckpt.GetEntry("critic/embed.weight").Fragments, f => f.Payload.File == "critic/global_step_100/model/__1_0.distcp");
        // Same shapes, different seeds: the roles really are read from their own folders.
        using var actor = ckpt.Read("actor/embed.weight");
        using var critic = ckpt.Read("critic/embed.weight");
        Assert.False(actor.Bytes.SequenceEqual(critic.Bytes));
    }

    [PythonTorchFact]
    public void Each_role_folder_alone_opens_as_a_single_save()
    {
        var dir = _built.Dir(2, ActorCritic);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));
        foreach (var role in new[] { "actor", "critic" })
        {
            using var ckpt = Checkpoint.Open(Path.Combine(dir, role));
            ReferenceParity.AssertDescribed(ckpt, "bytecheckpoint", 2, "fsdp");
            Assert.False(ckpt.Manifest.Metadata.ContainsKey("bytecheckpoint.roles"));
            var own = reference.Manifest.Tensors.Where(t => t.Name.StartsWith(role + "/", StringComparison.Ordinal)).ToArray();
            Assert.Equal(own.Select(t => t.Name[(role.Length + 1)..]).Order(StringComparer.Ordinal), ckpt.Manifest.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
            foreach (var t in own)
            {
                using var want = reference.Read(t.Name);
                using var got = ckpt.Read(t.Name[(role.Length + 1)..]);
                Assert.True(want.Bytes.SequenceEqual(got.Bytes), $"{role}: {t.Name}");
            }
        }
    }

    [PythonTorchFact]
    public void Inspect_convert_and_reshard_of_a_roles_root_keep_every_tensor()
    {
        var dir = _built.Dir(3, TeacherStudentNoStep);
        var (code, stdout, stderr) = CliRunner.Run("inspect", dir, "--json");
        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal("bytecheckpoint", doc.RootElement.GetProperty("format").GetString());
            Assert.Equal(3, doc.RootElement.GetProperty("worldSize").GetInt32());
        }
        Assert.Contains("student/layers.0.mlp.weight", stdout);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));

        var converted = TestPaths.TempDirectory("bytecheckpoint-roles-convert");
        (code, _, stderr) = CliRunner.Run("convert", dir, "--to", "safetensors", "--out", converted);
        Assert.True(code == 0, stderr);
        using (var copy = Checkpoint.Open(converted)) ReferenceParity.AssertSameTensors(reference, copy, "after conversion");

        var resharded = TestPaths.TempDirectory("bytecheckpoint-roles-reshard");
        (code, _, stderr) = CliRunner.Run("reshard", dir, "--world-size", "2", "--out", resharded, "--json");
        Assert.True(code == 0, stderr);
        using (var copy = Checkpoint.Open(resharded)) ReferenceParity.AssertSameTensors(reference, copy, "after resharding");
    }

    [PythonTorchFact]
    public void Roles_inside_a_step_folder_with_their_trackers_beside_their_parts_open_the_same()
    {
        // The trainer makes the step folder and saves each role to `<run>/global_step_100/<role>` with
        // global_steps=100 and ignore_append_global_steps_to_folder=True: each tracker lies beside its parts.
        var built = _built.Dir(2, ActorCritic);
        var step = Path.Combine(TestPaths.TempDirectory("bytecheckpoint-roles-in-step"), "global_step_100");
        foreach (var role in new[] { "actor", "critic" })
        {
            CopyTree(Path.Combine(built, role, "global_step_100"), Path.Combine(step, role));
            File.Copy(Path.Combine(built, role, ByteCheckpointTracker), Path.Combine(step, role, ByteCheckpointTracker));
        }

        using var ckpt = Checkpoint.Open(step);
        using var reference = Checkpoint.Open(Path.Combine(built, "reference.pt"));

        ReferenceParity.AssertDescribed(ckpt, "bytecheckpoint", 2, "fsdp");
        ReferenceParity.AssertSameTensors(reference, ckpt, "from roles whose trackers lie beside their parts");
        Assert.Contains(ckpt.Manifest.Files, f => f.Path == "critic/" + ByteCheckpointTracker);
    }

    [PythonTorchFact]
    public void A_roles_root_in_a_flat_key_store_opens_the_same_as_on_disk()
    {
        // Object stores list keys, not folders: the roles are found from the keys' first segments (FlatKeys.Folders).
        var dir = _built.Dir(2, ActorCritic);
        var storage = Ckpt.Storage.MemoryStorage.FromDirectory(dir);
        Assert.Equal(["actor", "critic"], storage.Folders());
        Assert.Equal(["actor/global_step_100/extra_state", "actor/global_step_100/model", "actor/global_step_100/optimizer"],
            storage.Folders("actor/global_step_100"));

        using var ckpt = Checkpoint.Open(storage, "");
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));

        ReferenceParity.AssertDescribed(ckpt, "bytecheckpoint", 2, "fsdp");
        ReferenceParity.AssertSameTensors(reference, ckpt, "from a flat key store");
    }

    const string ByteCheckpointTracker = "latest_checkpointed_iteration.txt";

    static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [PythonTorchFact]
    public void A_role_with_an_unfinished_part_or_a_missing_rank_file_is_refused_naming_its_file_exit_2()
    {
        var unfinished = Build(2, ActorCritic);
        File.Delete(Path.Combine(unfinished, "critic", "global_step_100", "optimizer", ".metadata"));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(unfinished));
        Assert.Equal(FormatErrorReason.Incomplete, e.Reason);
        Assert.Equal("critic/global_step_100/optimizer/.metadata", e.File);

        var missing = Build(2, TeacherStudentNoStep);
        File.Delete(Path.Combine(missing, "student", "model", "__1_0.distcp"));
        e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(missing));
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Equal("student/model/__1_0.distcp", e.File);
        var cli = CliRunner.Run("inspect", missing);
        Assert.Equal(2, cli.Code);
        Assert.Contains("student/model/__1_0.distcp", cli.Err);
    }

    [PythonTorchFact]
    public void Every_mutation_of_the_bytecheckpoint_files_loads_or_is_refused_with_one_typed_error()
    {
        var results = Fuzzing.NestedFolderCampaign.Run(Path.Combine(_built.Dir(3), "global_step_100"),
            ["model/.metadata", "optimizer/.metadata", "model/__1_0.distcp", "extra_state/extra_state_rank_0.pt"], 600, seed: 20261127);
        Assert.Equal(Fuzzing.FuzzOutcome.Loaded, results[0].Outcome);
        var finding = Fuzzing.NestedFolderCampaign.FirstFinding(results);
        Assert.True(finding is null, finding);
        Assert.True(results.Count(r => r.Outcome == Fuzzing.FuzzOutcome.Refused) > 30, "the mutations barely reached the parser");
    }
}
