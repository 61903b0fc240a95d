using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Adapters;
using FineTuning.Checkpoints;
using FineTuning.Core.Tests.Models.HuggingFace;
using FineTuning.Data;
using FineTuning.Models;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Models.Onnx;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using FineTuning.Testing.Fuzz;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Fuzz;

/// <summary>The reproducers of issue #11 (and of the fuzz runs), each refused with the reader's typed error.</summary>
public sealed class ReaderRegressionTests
{
    private const string LoneSurrogate = "\"\\ud800\"";

    [Fact]
    public void HfCheckpointLoad_ConfigWithLoneSurrogate_ThrowsModelConfigExceptionNamingLineAndField()
    {
        HfCase llama = HfCase.All().Single(c => c.Name == "llama-gqa-untied");
        using var folder = new TempDirectory("ft-hf-");
        using (nn.Module model = llama.Create()) llama.Write(folder.Path, model, llama.ConfigJson.Replace("\"llama\"", LoneSurrogate, StringComparison.Ordinal));

        var e = Assert.Throws<ModelConfigException>(() => HfCheckpoint.Load(folder.Path));

        Assert.Contains("config.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("field 'model_type'", e.Message, StringComparison.Ordinal);
        Assert.Contains("lone surrogate", e.Message, StringComparison.Ordinal);
        Assert.Matches(" line [0-9]+", e.Message);
    }

    [Fact]
    public void HfCheckpointLoad_ConfigSizesLargerThanTheWeights_ThrowsBeforeAllocating()
    {
        HfCase llama = HfCase.All().Single(c => c.Name == "llama-gqa-untied");
        using var folder = new TempDirectory("ft-hf-");
        using (nn.Module model = llama.Create()) llama.Write(folder.Path, model);
        string lying = System.Text.RegularExpressions.Regex.Replace(llama.ConfigJson, "\"intermediate_size\": *[0-9]+", "\"intermediate_size\": 2000000000");
        File.WriteAllText(Path.Combine(folder.Path, "config.json"), lying);
        long before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<CheckpointWeightsException>(() => HfCheckpoint.Load(folder.Path));

        Assert.Contains("nothing was allocated", e.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("2147483646")]
    [InlineData("300000000")]
    [InlineData("3e8")]
    public void HfTokenizerLoad_AddedTokenIdOutOfProportion_ThrowsModelFileExceptionWithoutBigAllocation(string id)
    {
        using TempDirectory folder = FuzzInputs.Folder();
        string path = folder.Write("tokenizer.json", Encoding.UTF8.GetBytes(Tokenizer(addedId: id)));
        long before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<ModelFileException>(() => HfTokenizer.Load(path));

        Assert.Contains("added_tokens[0].id", e.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }

    [Fact]
    public void HfTokenizerLoad_VocabIdIntMaxValue_ThrowsModelFileException()
    {
        using TempDirectory folder = FuzzInputs.Folder();
        string path = folder.Write("tokenizer.json", Encoding.UTF8.GetBytes(Tokenizer(vocabBId: "2147483647")));

        var e = Assert.Throws<ModelFileException>(() => HfTokenizer.Load(path));

        Assert.Contains("model.vocab[\"b\"]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HfTokenizerLoad_TemplateSpecialTokenOutsideVocabulary_ThrowsModelFileException()
    {
        const string post = """, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [900], "tokens": ["<s>"]}}}""";
        using TempDirectory folder = FuzzInputs.Folder();
        string path = folder.Write("tokenizer.json", Encoding.UTF8.GetBytes(Tokenizer(extra: post)));

        var e = Assert.Throws<ModelFileException>(() => HfTokenizer.Load(path));

        Assert.Contains("id 900", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HfTokenizerEncode_BacktrackingSplitRegex_ThrowsModelFileExceptionNamingThePattern()
    {
        const string split = """, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": false}""";
        using TempDirectory folder = FuzzInputs.Folder();
        HfTokenizer tokenizer = HfTokenizer.Load(folder.Write("tokenizer.json", Encoding.UTF8.GetBytes(Tokenizer(extra: split))));
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var e = Assert.Throws<ModelFileException>(() => tokenizer.Encode(new string('a', 40) + "!", addBos: false));

        Assert.Contains("(a+)+$", e.Message, StringComparison.Ordinal);
        Assert.Contains("pre_tokenizer.pattern.Regex", e.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Theory]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"a\": 1}, \"merges\": []}}", "appears more than once")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [], \"unk_token\": \"\\udc00\"}}", "lone surrogate")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": null}}", "model.merges")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [], \"dropout\": 1e400}}", "model.dropout")]
    public void HfTokenizerLoad_MalformedJson_ThrowsModelFileExceptionNamingTheField(string json, string expected)
    {
        using TempDirectory folder = FuzzInputs.Folder();
        string path = folder.Write("tokenizer.json", Encoding.UTF8.GetBytes(json));

        var e = Assert.Throws<ModelFileException>(() => HfTokenizer.Load(path));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DataReaderRead_JsonLinesWithLoneSurrogate_ThrowsDataFormatExceptionWithLineAndField()
    {
        string text = "{\"text\": \"fine\"}\n{\"text\": " + LoneSurrogate + "}\n";

        var e = Assert.Throws<DataFormatException>(() => DataReader.Read(new StringReader(text), "train.jsonl", RecordFormats.Text).ToList());

        Assert.Equal((2L, "text"), (e.Line, e.Field));
    }

    [Fact]
    public void DataReaderRead_JsonArrayWithCommentInsideRecord_ReadsTheRecord()
    {
        const string text = "[\n{\"messages\": [/* greeting */ {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}\n]";

        ChatExample chat = Assert.Single(DataReader.Read(new StringReader(text), "train.json", RecordFormats.OpenAIChat));

        Assert.Equal(["Hi", "Hello"], chat.Messages.Select(m => m.Content));
    }

    [Fact]
    public void DataReaderRead_JsonArrayRecordWithDuplicateKey_SkipsItUnderSkipAndReport()
    {
        const string text = "[\n{\"text\": \"a\"},\n{\"text\": \"b\", \"text\": \"c\"},\n{\"text\": \"d\"}\n]";
        var skipped = new List<SkippedRecord>();

        var read = DataReader.Read(new StringReader(text), "train.json", RecordFormats.Text, MalformedRecordPolicy.SkipAndReport, skipped).ToList();

        Assert.Equal(["a", "d"], read.Select(r => r.Text));
        Assert.Equal(3L, Assert.Single(skipped).Line);
    }

    [Theory]
    [InlineData("\"log_history\": null", "log_history")]
    [InlineData("\"evaluations\": null", "evaluations")]
    [InlineData("\"log_history\": [null]", "log_history[0]")]
    [InlineData("\"evaluations\": [null]", "evaluations[0]")]
    public void TrainerStateRead_NullLists_ThrowCheckpointException(string replacement, string field)
    {
        string json = "{\"global_step\": 1, \"max_steps\": 2, \"seed\": 1, \"skipped_steps\": 0, \"log_history\": [], \"evaluations\": [], " + replacement + "}";
        json = json.Replace(replacement.Split(':')[0] + ": [], ", "", StringComparison.Ordinal);
        using TempDirectory folder = FuzzInputs.Folder();

        var e = Assert.Throws<CheckpointException>(() => TrainerState.Read(folder.Write("trainer_state.json", Encoding.UTF8.GetBytes(json))));

        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void QuantizationConfigFileRead_DuplicateKey_ThrowsModelFileException()
    {
        using TempDirectory folder = FuzzInputs.Folder();
        string path = folder.Write("quantization_config.json", Encoding.UTF8.GetBytes("{\"quant_method\": \"finetuning\", \"quant_method\": \"x\", \"quantized_modules\": [\"a\"]}"));

        var e = Assert.Throws<ModelFileException>(() => QuantizationConfigFile.Read(path));

        Assert.Contains("\"quant_method\" appears more than once", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Llama2CLoaders_Folder_ThrowModelFileException()
    {
        using TempDirectory folder = FuzzInputs.Folder();

        Assert.Contains("folder", Assert.Throws<ModelFileException>(() => Llama2CCheckpoint.Load(folder.Path)).Message, StringComparison.Ordinal);
        Assert.Contains("folder", Assert.Throws<ModelFileException>(() => Llama2CTokenizer.Load(folder.Path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnnxModelParse_FieldNumberAbove2To31_ThrowsOnnxFormatException()
    {
        // Tag varint for field 2^31 (wire type 0): 2^34 in 7-bit groups.
        byte[] data = [0x80, 0x80, 0x80, 0x80, 0x40, 0x00];

        Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(data));
    }

    [Fact]
    public void ManagedResourceReaderRead_DamagedHeader_ThrowsFineTuningException()
    {
        byte[] assembly = File.ReadAllBytes(typeof(ModelFileException).Assembly.Location);
        using TempDirectory folder = FuzzInputs.Folder();
        // e_lfanew (offset 0x3C) pointing past the end of the file.
        BitConverter.GetBytes(0x7FFF_FFF0).CopyTo(assembly, 0x3C);
        string path = folder.Write("damaged.dll", assembly);

        Assert.Throws<FineTuningException>(() => ManagedResourceReader.Read(path, "FineTuning.Models.Bert.strip-accents.txt"));
    }

    private static string Tokenizer(string addedId = "2", string vocabBId = "1", string extra = "") =>
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": " + vocabBId + ", \"!\": 3}, \"merges\": []}, "
        + "\"added_tokens\": [{\"id\": " + addedId + ", \"content\": \"<s>\", \"special\": true}]" + extra + "}";
}
