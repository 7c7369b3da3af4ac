using System.Numerics;
using System.Text;
using Ckpt.Errors;
using Ckpt.Pickle;

namespace Ckpt.Tests.Pickle;

public class UnpicklerTests
{
    // pickle.dumps(obj, protocol=p) by CPython 3.11 for p = 0..5, where
    // obj = {'a': [1, 2.5, 'x', b'\x00\xff', None, True, False], 'b': (1, (2, 3)),
    //        3: {'n': -7, 'big': 2**80, 'neg': -2**70}, 'fs': frozenset({1}), 's': {2},
    //        'od': OrderedDict([('k', 1), ('j', 2)]), (1, 't'): 'tuplekey', 'u': 'h\u00e9\u4e2d', 'shared': (l, l)}, l = [1, 2]
    public static readonly TheoryData<int, string> Protocols = new()
    {
        { 0, "KGRwMApWYQpwMQoobHAyCkkxCmFGMi41CmFWeApwMwphY19jb2RlY3MKZW5jb2RlCnA0CihWXHUwMDAw/wpwNQpWbGF0aW4xCnA2CnRwNwpScDgKYU5hSTAxCmFJMDAKYXNWYgpwOQooSTEKKEkyCkkzCnRwMTAKdHAxMQpzSTMKKGRwMTIKVm4KcDEzCkktNwpzVmJpZwpwMTQKTDEyMDg5MjU4MTk2MTQ2MjkxNzQ3MDYxNzZMCnNWbmVnCnAxNQpMLTExODA1OTE2MjA3MTc0MTEzMDM0MjRMCnNzVmZzCnAxNgpjX19idWlsdGluX18KZnJvemVuc2V0CnAxNwooKGxwMTgKSTEKYXRwMTkKUnAyMApzVnMKcDIxCmNfX2J1aWx0aW5fXwpzZXQKcDIyCigobHAyMwpJMgphdHAyNApScDI1CnNWb2QKcDI2CmNjb2xsZWN0aW9ucwpPcmRlcmVkRGljdApwMjcKKHRScDI4ClZrCnAyOQpJMQpzVmoKcDMwCkkyCnNzKEkxClZ0CnAzMQp0cDMyClZ0dXBsZWtleQpwMzMKc1Z1CnAzNApWaOlcdTRlMmQKcDM1CnNWc2hhcmVkCnAzNgooKGxwMzcKSTEKYUkyCmFnMzcKdHAzOApzLg==" },
        { 1, "fXEAKFgBAAAAYXEBXXECKEsBR0AEAAAAAAAAWAEAAAB4cQNjX2NvZGVjcwplbmNvZGUKcQQoWAMAAAAAw79xBVgGAAAAbGF0aW4xcQZ0cQdScQhOSTAxCkkwMAplWAEAAABicQkoSwEoSwJLA3RxCnRxC0sDfXEMKFgBAAAAbnENSvn///9YAwAAAGJpZ3EOTDEyMDg5MjU4MTk2MTQ2MjkxNzQ3MDYxNzZMClgDAAAAbmVncQ9MLTExODA1OTE2MjA3MTc0MTEzMDM0MjRMCnVYAgAAAGZzcRBjX19idWlsdGluX18KZnJvemVuc2V0CnERKF1xEksBYXRxE1JxFFgBAAAAc3EVY19fYnVpbHRpbl9fCnNldApxFihdcRdLAmF0cRhScRlYAgAAAG9kcRpjY29sbGVjdGlvbnMKT3JkZXJlZERpY3QKcRspUnEcKFgBAAAAa3EdSwFYAQAAAGpxHksCdShLAVgBAAAAdHEfdHEgWAgAAAB0dXBsZWtleXEhWAEAAAB1cSJYBgAAAGjDqeS4rXEjWAYAAABzaGFyZWRxJChdcSUoSwFLAmVoJXRxJnUu" },
        { 2, "gAJ9cQAoWAEAAABhcQFdcQIoSwFHQAQAAAAAAABYAQAAAHhxA2NfY29kZWNzCmVuY29kZQpxBFgDAAAAAMO/cQVYBgAAAGxhdGluMXEGhnEHUnEIToiJZVgBAAAAYnEJSwFLAksDhnEKhnELSwN9cQwoWAEAAABucQ1K+f///1gDAAAAYmlncQ6KCwAAAAAAAAAAAAABWAMAAABuZWdxD4oJAAAAAAAAAADAdVgCAAAAZnNxEGNfX2J1aWx0aW5fXwpmcm96ZW5zZXQKcRFdcRJLAWGFcRNScRRYAQAAAHNxFWNfX2J1aWx0aW5fXwpzZXQKcRZdcRdLAmGFcRhScRlYAgAAAG9kcRpjY29sbGVjdGlvbnMKT3JkZXJlZERpY3QKcRspUnEcKFgBAAAAa3EdSwFYAQAAAGpxHksCdUsBWAEAAAB0cR+GcSBYCAAAAHR1cGxla2V5cSFYAQAAAHVxIlgGAAAAaMOp5LitcSNYBgAAAHNoYXJlZHEkXXElKEsBSwJlaCWGcSZ1Lg==" },
        { 3, "gAN9cQAoWAEAAABhcQFdcQIoSwFHQAQAAAAAAABYAQAAAHhxA0MCAP9xBE6IiWVYAQAAAGJxBUsBSwJLA4ZxBoZxB0sDfXEIKFgBAAAAbnEJSvn///9YAwAAAGJpZ3EKigsAAAAAAAAAAAAAAVgDAAAAbmVncQuKCQAAAAAAAAAAwHVYAgAAAGZzcQxjYnVpbHRpbnMKZnJvemVuc2V0CnENXXEOSwFhhXEPUnEQWAEAAABzcRFjYnVpbHRpbnMKc2V0CnESXXETSwJhhXEUUnEVWAIAAABvZHEWY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnEXKVJxGChYAQAAAGtxGUsBWAEAAABqcRpLAnVLAVgBAAAAdHEbhnEcWAgAAAB0dXBsZWtleXEdWAEAAAB1cR5YBgAAAGjDqeS4rXEfWAYAAABzaGFyZWRxIF1xIShLAUsCZWghhnEidS4=" },
        { 4, "gASV4gAAAAAAAAB9lCiMAWGUXZQoSwFHQAQAAAAAAACMAXiUQwIA/5ROiIlljAFilEsBSwJLA4aUhpRLA32UKIwBbpRK+f///4wDYmlnlIoLAAAAAAAAAAAAAAGMA25lZ5SKCQAAAAAAAAAAwHWMAmZzlChLAZGUjAFzlI+UKEsCkIwCb2SUjAtjb2xsZWN0aW9uc5SMC09yZGVyZWREaWN0lJOUKVKUKIwBa5RLAYwBapRLAnVLAYwBdJSGlIwIdHVwbGVrZXmUjAF1lIwGaMOp5LitlIwGc2hhcmVklF2UKEsBSwJlaB2GlHUu" },
        { 5, "gAWV4gAAAAAAAAB9lCiMAWGUXZQoSwFHQAQAAAAAAACMAXiUQwIA/5ROiIlljAFilEsBSwJLA4aUhpRLA32UKIwBbpRK+f///4wDYmlnlIoLAAAAAAAAAAAAAAGMA25lZ5SKCQAAAAAAAAAAwHWMAmZzlChLAZGUjAFzlI+UKEsCkIwCb2SUjAtjb2xsZWN0aW9uc5SMC09yZGVyZWREaWN0lJOUKVKUKIwBa5RLAYwBapRLAnVLAYwBdJSGlIwIdHVwbGVrZXmUjAF1lIwGaMOp5LitlIwGc2hhcmVklF2UKEsBSwJlaB2GlHUu" },
    };

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Every_protocol_from_0_to_5_loads_the_same_values(int protocol, string base64)
    {
        var d = Assert.IsType<PyDict>(Unpickler.Load(Convert.FromBase64String(base64), $"p{protocol}.pkl"));
        Assert.True(new object[] { "a", "b", 3L, "fs", "s", "od", new PyTuple([1L, "t"]), "u", "shared" }.SequenceEqual(d.Keys), PyRepr.Of(new PyTuple(d.Keys.ToArray())));
        var a = Assert.IsType<PyList>(d["a"]);
        Assert.Equal(1L, a[0]);
        Assert.Equal(2.5, a[1]);
        Assert.Equal("x", a[2]);
        Assert.Equal(new byte[] { 0, 255 }, a[3]);
        Assert.Null(a[4]);
        Assert.Equal(true, a[5]);
        Assert.Equal(false, a[6]);
        var b = Assert.IsType<PyTuple>(d["b"]);
        Assert.Equal(new PyTuple([1L, new PyTuple([2L, 3L])]), b);
        var three = Assert.IsType<PyDict>(d[3L]);
        Assert.Equal(-7L, three["n"]);
        Assert.Equal(BigInteger.Pow(2, 80), three["big"]);
        Assert.Equal(-BigInteger.Pow(2, 70), three["neg"]);
        Assert.True(Assert.IsType<PySet>(d["fs"]).Frozen);
        Assert.Equal([1L], (PySet)d["fs"]!);
        Assert.Equal([2L], Assert.IsType<PySet>(d["s"]));
        var od = Assert.IsType<PyDict>(d["od"]);
        Assert.Equal(["k", "j"], od.Keys.ToArray());
        Assert.Equal("tuplekey", d[new PyTuple([1L, "t"])]);
        Assert.Equal("h\u00e9\u4e2d", d["u"]);
        var shared = Assert.IsType<PyTuple>(d["shared"]);
        Assert.Same(shared[0], shared[1]);
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("nt", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("builtins", "exec")]
    [InlineData("__builtin__", "eval")]
    [InlineData("builtins", "__import__")]
    [InlineData("subprocess", "Popen")]
    [InlineData("subprocess", "check_output")]
    public void A_pickle_naming_a_dangerous_global_is_refused_and_runs_nothing(string module, string name)
    {
        var marker = Path.Combine(Path.GetTempPath(), $"ckpt-pwned-{Guid.NewGuid():N}");
        var payloads = new[]
        {
            // protocol 0: GLOBAL, MARK, STRING, TUPLE, REDUCE
            Encoding.ASCII.GetBytes($"c{module}\n{name}\n(S'touch {marker}'\ntR."),
            // protocol 4: STACK_GLOBAL
            Concat([0x80, 4], ShortUnicode(module), ShortUnicode(name), [0x93], ShortUnicode($"touch {marker}"), [0x85, (byte)'R', (byte)'.']),
            // protocol 0 INST
            Encoding.ASCII.GetBytes($"(S'touch {marker}'\ni{module}\n{name}\n."),
        };
        foreach (var payload in payloads)
        {
            var e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(payload, "hostile.pkl"));
            Assert.Equal(FormatErrorReason.ForbiddenPickleGlobal, e.Reason);
            Assert.Contains($"{module}.{name}", e.Message);
            Assert.Equal("hostile.pkl", e.File);
        }
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void An_unknown_class_becomes_inert_data_with_its_arguments_and_state()
    {
        // NEWOBJ(mypkg.Config, (1,)) then BUILD({'lr': 0.5}); REDUCE(mypkg.make, ('x',)); OBJ(mypkg.Thing, 2)
        var bytes = Concat([0x80, 2, (byte)'('], Global("mypkg", "Config"), [(byte)'K', 1, 0x85, 0x81, (byte)'}'],
            ShortBin("lr"), [(byte)'G', 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, (byte)'s', (byte)'b'],
            Global("mypkg", "make"), ShortBin("x"), [0x85, (byte)'R', (byte)'('], Global("mypkg", "Thing"), [(byte)'K', 2, (byte)'o', (byte)'t', (byte)'.']);
        var t = Assert.IsType<PyTuple>(Unpickler.Load(bytes));
        var config = Assert.IsType<PyObject>(t[0]);
        Assert.Equal(new PyGlobal("mypkg", "Config"), config.Class);
        Assert.Equal(new PyTuple([1L]), config.Args);
        Assert.Equal(0.5, config.Attribute("lr"));
        var made = Assert.IsType<PyObject>(t[1]);
        Assert.Equal("mypkg.make", made.Class.FullName);
        Assert.Equal(new PyTuple(["x"]), made.Args);
        var thing = Assert.IsType<PyObject>(t[2]);
        Assert.Equal(new PyTuple([2L]), thing.Args);
    }

    [Fact]
    public void Persistent_ids_go_through_the_callback()
    {
        var bytes = Concat([0x80, 2], ShortBin("k1"), [(byte)'Q', (byte)'P'], Encoding.ASCII.GetBytes("text-id\n"), [0x86, (byte)'.']);
        var seen = new List<object?>();
        var t = Assert.IsType<PyTuple>(Unpickler.Load(bytes, null, new PickleOptions { PersistentLoad = pid => { seen.Add(pid); return $"loaded:{pid}"; } }));
        Assert.Equal(new PyTuple(["loaded:k1", "loaded:text-id"]), t);
        Assert.Equal(["k1", "text-id"], seen);
        var e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(bytes));
        Assert.Equal(FormatErrorReason.PickleInvalid, e.Reason);
    }

    [Fact]
    public void A_truncated_pickle_is_invalid_and_says_so()
    {
        var full = Convert.FromBase64String(Protocol(2));
        for (int cut = 0; cut < full.Length; cut += 7)
        {
            var e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(full[..cut], "cut.pkl"));
            Assert.Equal(FormatErrorReason.PickleInvalid, e.Reason);
            Assert.True(e.Data[Unpickler.TruncatedKey] is true, e.Message);
        }
    }

    [Fact]
    public void A_GET_of_a_memo_entry_never_stored_is_invalid()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load([0x80, 2, (byte)'N', (byte)'q', 0, (byte)'h', 7, (byte)'.'], "memo.pkl"));
        Assert.Equal(FormatErrorReason.PickleInvalid, e.Reason);
        Assert.Contains("memo entry 7", e.Message);
        e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load([(byte)'j', 0xff, 0xff, 0xff, 0xff, (byte)'.']));
        Assert.Equal(FormatErrorReason.PickleInvalid, e.Reason);
    }

    [Fact]
    public void Deep_nesting_is_invalid_quickly()
    {
        var marks = Enumerable.Repeat((byte)'(', 1_000_000).Append((byte)'.').ToArray();
        Assert.Equal(FormatErrorReason.PickleInvalid, Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(marks)).Reason);
        // 100,000 nested 1-tuples used as a dict key: hashing must not overflow the stack.
        var tuples = Concat([(byte)'}', (byte)'N'], Enumerable.Repeat((byte)0x85, 100_000).ToArray(), [(byte)'N', (byte)'s', (byte)'.']);
        Assert.Equal(FormatErrorReason.PickleInvalid, Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(tuples)).Reason);
        // And printing one in a message stays bounded.
        var deep = Unpickler.Load(Concat([(byte)'N'], Enumerable.Repeat((byte)0x85, 100_000).ToArray(), [(byte)'.']));
        Assert.True(PyRepr.Of(deep).Length < 3000);
    }

    [Fact]
    public void Work_amplification_through_shared_values_is_bounded()
    {
        // A 100-level tuple DAG (t_k = (t_k-1, t_k-1)) used as a dict key: a naive hash visits 2^100 nodes. Tuple
        // hashes are kept, so the key hashes in 100 steps; the value it makes has 2^101 nodes to walk, and is refused.
        var dag = new List<byte> { (byte)'}', (byte)'N' };
        for (int i = 0; i < 100; i++) dag.AddRange([(byte)'2', 0x86]);
        dag.AddRange([(byte)'N', (byte)'s', (byte)'.']);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(dag.ToArray()));
        Assert.Equal(FormatErrorReason.TooLarge, e.Reason);
        Assert.Contains("nodes when its shared references are followed", e.Message);
        // list(big) re-applied 200,000 times to one memoized 20,000-item list: 4e9 copies unless budgeted.
        var copies = new List<byte> { (byte)']', (byte)'(' };
        for (int i = 0; i < 20_000; i++) copies.AddRange([(byte)'K', 1]);
        copies.AddRange([(byte)'e', (byte)'q', 0]);
        copies.AddRange(Global("builtins", "list"));
        copies.AddRange([(byte)'q', 1, (byte)'0']);
        for (int i = 0; i < 200_000; i++) copies.AddRange([(byte)'h', 1, (byte)'h', 0, 0x85, (byte)'R', (byte)'0']);
        copies.Add((byte)'.');
        e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(copies.ToArray()));
        Assert.Equal(FormatErrorReason.TooLarge, e.Reason);
        Assert.Contains("copies more than", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
    }

    [Theory]
    [InlineData(new byte[] { (byte)'B', 0xff, 0xff, 0xff, 0xff, (byte)'.' })]
    [InlineData(new byte[] { 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40, (byte)'.' })]
    [InlineData(new byte[] { 0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, (byte)'.' })]
    [InlineData(new byte[] { 0x96, 0, 0, 0, 0, 0, 0, 0, 0x7f, (byte)'.' })]
    [InlineData(new byte[] { (byte)'X', 0, 0, 0, 0x80, (byte)'.' })]
    [InlineData(new byte[] { 0x8b, 0xff, 0xff, 0xff, 0x7f, (byte)'.' })]
    [InlineData(new byte[] { 0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, (byte)'.' })]
    public void A_huge_claimed_length_is_invalid_before_anything_is_allocated(byte[] bytes)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(bytes, "huge.pkl"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(FormatErrorReason.PickleInvalid, e.Reason);
        Assert.True(allocated < 1_000_000, $"allocated {allocated} bytes");
    }

    [Theory]
    [InlineData(new byte[] { (byte)'R', (byte)'.' })]                 // stack underflow
    [InlineData(new byte[] { 0x80, 6, (byte)'N', (byte)'.' })]        // protocol 6
    [InlineData(new byte[] { 0xff, (byte)'.' })]                      // unknown opcode
    [InlineData(new byte[] { (byte)'N', (byte)'K', 1, (byte)'R', (byte)'.' })] // REDUCE with non-tuple args
    [InlineData(new byte[] { (byte)')', (byte)')', (byte)'R', (byte)'.' })]    // calling a tuple
    [InlineData(new byte[] { (byte)'e', (byte)'.' })]                 // APPENDS without MARK
    [InlineData(new byte[] { (byte)'N', (byte)'N', (byte)'a', (byte)'.' })]    // APPEND to None
    [InlineData(new byte[] { (byte)']', (byte)']', (byte)'N', (byte)'s', (byte)'.' })] // SETITEM on a list... with a list key
    [InlineData(new byte[] { (byte)'}', (byte)']', (byte)'N', (byte)'s', (byte)'.' })] // unhashable key
    [InlineData(new byte[] { 0x97, (byte)'.' })]                      // out-of-band buffer
    [InlineData(new byte[] { 0x82, 1, (byte)'.' })]                   // extension registry
    public void Malformed_pickles_are_PickleInvalid(byte[] bytes)
    {
        var e = Assert.Throws<CheckpointFormatException>(() => Unpickler.Load(bytes, "bad.pkl"));
        Assert.Equal(FormatErrorReason.PickleInvalid, e.Reason);
        Assert.Equal("bad.pkl", e.File);
    }

    [Fact]
    public void Random_bytes_only_ever_fail_with_the_one_exception_type()
    {
        var rng = new Random(1234);
        var seed = Convert.FromBase64String(Protocol(4));
        for (int i = 0; i < 5000; i++)
        {
            byte[] bytes;
            if (i % 2 == 0) { bytes = new byte[rng.Next(1, 64)]; rng.NextBytes(bytes); }
            else
            {
                bytes = seed.ToArray();
                for (int k = 0; k < 3; k++) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            }
            try { Unpickler.Load(bytes, "fuzz.pkl"); }
            catch (CheckpointFormatException e) when (e.Reason is FormatErrorReason.PickleInvalid or FormatErrorReason.ForbiddenPickleGlobal) { }
        }
    }

    [Fact]
    public void Torch_globals_become_typed_values()
    {
        // (torch.float32, torch.Size((2, 3)), _codecs.encode('\xff', 'latin1'), torch.device('cuda', 1))
        var bytes = Concat([0x80, 2, (byte)'('], Global("torch", "float32"), Global("torch", "Size"), [(byte)'K', 2, (byte)'K', 3, 0x86, 0x85, (byte)'R'],
            Global("_codecs", "encode"), [(byte)'X', 2, 0, 0, 0, 0xc3, 0xbf], ShortBin("latin1"), [0x86, (byte)'R'],
            Global("torch", "device"), ShortBin("cuda"), [(byte)'K', 1, 0x86, (byte)'R', (byte)'t', (byte)'.']);
        var t = Assert.IsType<PyTuple>(Unpickler.Load(bytes));
        Assert.Equal(new TorchDType("float32", Ckpt.Tensors.DType.F32), t[0]);
        Assert.Equal(new PyTuple([2L, 3L]), t[1]);
        Assert.Equal(new byte[] { 0xff }, t[2]);
        Assert.Equal(new TorchDevice("cuda:1"), t[3]);
    }

    [Theory]
    // pickle.dumps({'f64': np.float64(0.25), 'i64': np.int64(-3), 'f32': np.float32(1.5), 'b': np.bool_(True),
    //               'arr': np.arange(3, dtype=np.int32)}, protocol=p) with numpy 1.24, p = 2 and 4
    [InlineData("gAJ9cQAoWAMAAABmNjRxAWNudW1weS5jb3JlLm11bHRpYXJyYXkKc2NhbGFyCnECY251bXB5CmR0eXBlCnEDWAIAAABmOHEEiYiHcQVScQYoSwNYAQAAADxxB05OTkr/////Sv////9LAHRxCGJjX2NvZGVjcwplbmNvZGUKcQlYCQAAAAAAAAAAAMOQP3EKWAYAAABsYXRpbjFxC4ZxDFJxDYZxDlJxD1gDAAAAaTY0cRBoAmgDWAIAAABpOHERiYiHcRJScRMoSwNoB05OTkr/////Sv////9LAHRxFGJoCVgQAAAAw73Dv8O/w7/Dv8O/w7/Dv3EVaAuGcRZScReGcRhScRlYAwAAAGYzMnEaaAJoA1gCAAAAZjRxG4mIh3EcUnEdKEsDaAdOTk5K/////0r/////SwB0cR5iaAlYBQAAAAAAw4A/cR9oC4ZxIFJxIYZxIlJxI1gBAAAAYnEkaAJoA1gCAAAAYjFxJYmIh3EmUnEnKEsDWAEAAAB8cShOTk5K/////0r/////SwB0cSliaAlYAQAAAAFxKmgLhnErUnEshnEtUnEuWAMAAABhcnJxL2NudW1weS5jb3JlLm11bHRpYXJyYXkKX3JlY29uc3RydWN0CnEwY251bXB5Cm5kYXJyYXkKcTFLAIVxMmgJWAEAAABicTNoC4ZxNFJxNYdxNlJxNyhLAUsDhXE4aANYAgAAAGk0cTmJiIdxOlJxOyhLA2gHTk5OSv////9K/////0sAdHE8YoloCVgMAAAAAAAAAAEAAAACAAAAcT1oC4ZxPlJxP3RxQGJ1Lg==")]
    [InlineData("gASVigEAAAAAAAB9lCiMA2Y2NJSMFW51bXB5LmNvcmUubXVsdGlhcnJheZSMBnNjYWxhcpSTlIwFbnVtcHmUjAVkdHlwZZSTlIwCZjiUiYiHlFKUKEsDjAE8lE5OTkr/////Sv////9LAHSUYkMIAAAAAAAA0D+UhpRSlIwDaTY0lGgEaAeMAmk4lImIh5RSlChLA2gLTk5OSv////9K/////0sAdJRiQwj9/////////5SGlFKUjANmMzKUaARoB4wCZjSUiYiHlFKUKEsDaAtOTk5K/////0r/////SwB0lGJDBAAAwD+UhpRSlIwBYpRoBGgHjAJiMZSJiIeUUpQoSwOMAXyUTk5OSv////9K/////0sAdJRiQwEBlIaUUpSMA2FycpRoAowMX3JlY29uc3RydWN0lJOUaAWMB25kYXJyYXmUk5RLAIWUQwFilIeUUpQoSwFLA4WUaAeMAmk0lImIh5RSlChLA2gLTk5OSv////9K/////0sAdJRiiUMMAAAAAAEAAAACAAAAlHSUYnUu")]
    public void Numpy_scalars_become_numbers_and_arrays_stay_inert(string base64)
    {
        var d = Assert.IsType<PyDict>(Unpickler.Load(Convert.FromBase64String(base64)));
        Assert.Equal(0.25, d["f64"]);
        Assert.Equal(-3L, d["i64"]);
        Assert.Equal(1.5, d["f32"]);
        Assert.Equal(true, d["b"]);
        var arr = Assert.IsType<PyObject>(d["arr"]);
        Assert.Equal("numpy.core.multiarray._reconstruct", arr.Class.FullName);
    }

    static string Protocol(int p) => (string)Protocols.Select(row => row).Cast<object[]>().First(r => (int)r[0] == p)[1];
    static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
    static byte[] Global(string module, string name) => Encoding.ASCII.GetBytes($"c{module}\n{name}\n");
    static byte[] ShortUnicode(string s) { var b = Encoding.UTF8.GetBytes(s); return [0x8c, (byte)b.Length, .. b]; }
    static byte[] ShortBin(string s) { var b = Encoding.UTF8.GetBytes(s); return [(byte)'X', (byte)b.Length, 0, 0, 0, .. b]; }
}
