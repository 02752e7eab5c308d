// Interop: the npm ws package as a client of our server. Sends text, binary, a fragmented
// text message and a large compressible one; prints the echoes and the close code as JSON.
const WebSocket = require('ws');
const ws = new WebSocket(process.argv[2], { perMessageDeflate: true });
const results = [];
const describe = (data, isBinary) =>
  (isBinary ? 'binary' : 'text') + ':' + data.length + ':' + data.subarray(0, 12).toString('hex');
ws.on('open', () => {
  ws.send('hello from ws');
  ws.send(Buffer.from([0, 1, 2, 254, 255]));
  ws.send('frag', { fin: false });
  ws.send('men', { fin: false });
  ws.send('ted', { fin: true });
  ws.send('y'.repeat(100000));
});
ws.on('message', (data, isBinary) => {
  results.push(describe(data, isBinary));
  if (results.length === 4) ws.close(1000, 'done');
});
ws.on('close', (code) => {
  console.log(JSON.stringify({ code, extensions: ws.extensions, results }));
});
ws.on('error', (err) => { console.log(JSON.stringify({ error: String(err) })); process.exit(1); });
