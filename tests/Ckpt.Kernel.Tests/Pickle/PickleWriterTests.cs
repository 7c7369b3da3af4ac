using System.Numerics;
using Ckpt.Pickle;

namespace Ckpt.Tests.Pickle;

public class PickleWriterTests
{
    static PyDict Sample()
    {
        var nested = new PyDict();
        nested["lr"] = 0.001;
        nested["betas"] = new PyTuple([0.9, 0.999]);
        nested["params"] = new PyList(["a.weight", "b.bias"]);
        nested["foreach"] = null;
        var root = new PyDict();
        root["ints"] = new PyList([0L, 255L, 256L, 65535L, 65536L, -1L, (long)int.MinValue, long.MaxValue, long.MinValue]);
        root["big"] = BigInteger.Pow(2, 100);
        root["text"] = "ünïcode ✓";
        root["flag"] = true;
        root["bytes"] = new byte[] { 0, 1, 200, 255 };
        root["group"] = nested;
        root["empty"] = new PyDict();
        root["tuple"] = new PyTuple([1L, "x", new PyTuple([])]);
        root["set"] = new PySet([3L], frozen: false);
        return root;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Plain_values_read_back_through_the_restricted_unpickler(int protocol)
    {
        var bytes = new PickleWriter(protocol).Value(Sample()).Finish();
        var back = Assert.IsType<PyDict>(Unpickler.Load(bytes));
        Assert.Equal(PyRepr.Of(Sample()), PyRepr.Of(back));
    }

    [PythonTorchFact]
    public void Python_pickle_reads_the_same_values()
    {
        var path = Path.Combine(TestPaths.TempDirectory("pickle"), "v.pkl");
        File.WriteAllBytes(path, new PickleWriter(2).Value(Sample()).Finish());
        const string script = """
            import pickle, sys
            v = pickle.load(open(sys.argv[1], "rb"))
            assert v["ints"] == [0, 255, 256, 65535, 65536, -1, -2**31, 2**63 - 1, -2**63], v["ints"]
            assert v["big"] == 2**100 and v["text"] == "ünïcode ✓" and v["flag"] is True
            assert v["bytes"] == bytes([0, 1, 200, 255]), v["bytes"]
            assert v["group"] == {"lr": 0.001, "betas": (0.9, 0.999), "params": ["a.weight", "b.bias"], "foreach": None}
            assert v["empty"] == {} and v["tuple"] == (1, "x", ()) and v["set"] == {3}
            print("ok")
            """;
        var (code, stdout, stderr) = PythonTorch.Run(script, path);
        Assert.True(code == 0, stdout + stderr);
    }

    [Fact]
    public void Repeated_globals_are_memoised()
    {
        var w = new PickleWriter(2);
        w.Mark();
        for (int i = 0; i < 50; i++) w.Global("torch", "Size").IntTuple([i]).Tuple1().Reduce();
        var bytes = w.TupleFromMark().Finish();
        Assert.Equal(1, System.Text.Encoding.ASCII.GetString(bytes).Split("torch\nSize").Length - 1);
    }
}
