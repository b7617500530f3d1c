// Bodies captured from kubectl v1.32.5 (kubectl -n user11 <command> against a logging server), with the JSON
// each stands for. They pin the schema field numbers to what real kubectl writes.

/** One captured request body. */
export interface Capture {
  command: string;
  hex: string;
  json: Record<string, unknown>;
}

/** Captured kubectl bodies. */
export const captures: Capture[] = [
  {
    command: 'create namespace user12',
    hex:
      '6b3873000a0f0a02763112094e616d657370616365121e0a160a0675736572313212001a0022002a0032003800420012001a' +
      '020a001a002200',
    json: {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"user12"}},
  },
  {
    command: 'create deployment userlist2 --image=ssongman/userlist:v1 --replicas=2',
    hex:
      '6b3873000a150a07617070732f7631120a4465706c6f796d656e7412dc010a310a09757365726c6973743212001a06757365' +
      '72313122002a003200380042005a100a036170701209757365726c69737432129801080212120a100a036170701209757365' +
      '726c697374321a780a220a0012001a0022002a003200380042005a100a036170701209757365726c69737432125212340a08' +
      '757365726c697374121473736f6e676d616e2f757365726c6973743a76312a0042006a007200800100880100900100a20100' +
      '1a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c080010001800200028003800' +
      '1a002200',
    json: {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"userlist2","namespace":"user11","labels":{"app":"userlist2"}},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"userlist2"}},"template":{"metadata":{"labels":{"app":"userlist2"}},"spec":{"containers":[{"name":"userlist","image":"ssongman/userlist:v1"}]}}}},
  },
  {
    command: 'create deployment zero --image=nginx --replicas=0 --port=8080',
    hex:
      '6b3873000a150a07617070732f7631120a4465706c6f796d656e7412c3010a270a047a65726f12001a067573657231312200' +
      '2a003200380042005a0b0a0361707012047a65726f1289010800120d0a0b0a0361707012047a65726f1a6e0a1d0a0012001a' +
      '0022002a003200380042005a0b0a0361707012047a65726f124d122f0a056e67696e7812056e67696e782a00320b0a001000' +
      '18903f22002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100' +
      'c2010022020a00280038001a0c0800100018002000280038001a002200',
    json: {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"zero","namespace":"user11","labels":{"app":"zero"}},"spec":{"replicas":0,"selector":{"matchLabels":{"app":"zero"}},"template":{"metadata":{"labels":{"app":"zero"}},"spec":{"containers":[{"name":"nginx","image":"nginx","ports":[{"containerPort":8080}]}]}}}},
  },
  {
    command: 'create service clusterip web --tcp=80:8080',
    hex:
      '6b3873000a0d0a027631120753657276696365126f0a250a0377656212001a0675736572313122002a003200380042005a0a' +
      '0a03617070120377656212420a1b0a0738302d38303830120354435018502207080010903f1a002800120a0a036170701203' +
      '7765621a002209436c757374657249503a00420052005a00600068001a020a001a002200',
    json: {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"user11","labels":{"app":"web"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080}],"selector":{"app":"web"},"type":"ClusterIP"}},
  },
  {
    command: 'create service nodeport np --tcp=80:http --node-port=30080',
    hex:
      '6b3873000a0d0a02763112075365727669636512700a230a026e7012001a0675736572313122002a003200380042005a090a' +
      '0361707012026e7012450a200a0738302d6874747012035443501850220a080110001a04687474702880eb0112090a036170' +
      '7012026e701a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200',
    json: {"apiVersion":"v1","kind":"Service","metadata":{"name":"np","namespace":"user11","labels":{"app":"np"}},"spec":{"ports":[{"name":"80-http","protocol":"TCP","port":80,"targetPort":"http","nodePort":30080}],"selector":{"app":"np"},"type":"NodePort"}},
  },
  {
    command: 'create configmap cm --from-literal=a=1 --from-literal=b=',
    hex:
      '6b3873000a0f0a0276311209436f6e6669674d617012290a180a02636d12001a0675736572313122002a0032003800420012' +
      '060a016112013112050a016212001a002200',
    json: {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"user11"},"data":{"a":"1","b":""}},
  },
  {
    command: 'create secret generic s1 --from-literal=password=s3cr3t',
    hex:
      '6b3873000a0c0a027631120653656372657412300a180a02733112001a0675736572313122002a0032003800420012120a08' +
      '70617373776f726412067333637233741a001a002200',
    json: {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s1","namespace":"user11"},"data":{"password":"czNjcjN0"}},
  },
  {
    command: 'create job j1 --image=busybox -- echo hi',
    hex:
      '6b3873000a0f0a0862617463682f763112034a6f62128a010a180a026a3112001a0675736572313122002a00320038004200' +
      '126432620a100a0012001a0022002a00320038004200124e122b0a026a31120762757379626f781a046563686f1a0268692a' +
      '0042006a007200800100880100900100a201001a054e65766572320042004a0052005800600068008201008a01009a0100c2' +
      '01001a082000280030003a001a002200',
    json: {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j1","namespace":"user11"},"spec":{"template":{"spec":{"containers":[{"name":"j1","image":"busybox","command":["echo","hi"]}],"restartPolicy":"Never"}}}},
  },
  {
    command: 'create serviceaccount sa1',
    hex:
      '6b3873000a140a027631120e536572766963654163636f756e74121b0a190a0373613112001a0675736572313122002a0032' +
      '00380042001a002200',
    json: {"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"sa1","namespace":"user11"}},
  },
  {
    command: 'create ingress ing --rule=foo.com/bar*=svc1:8080,tls=my-cert --class=nginx',
    hex:
      '6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e6772657373126c0a190a03696e6712001a06' +
      '75736572313122002a00320038004200124b12120a07666f6f2e636f6d12076d792d636572741a2e0a07666f6f2e636f6d12' +
      '230a210a1f0a042f626172120f220d0a047376633112050a0010903f1a0650726566697822056e67696e781a020a001a0022' +
      '00',
    json: {"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"ing","namespace":"user11"},"spec":{"tls":[{"hosts":["foo.com"],"secretName":"my-cert"}],"rules":[{"host":"foo.com","http":{"paths":[{"path":"/bar","backend":{"service":{"name":"svc1","port":{"number":8080}}},"pathType":"Prefix"}]}}],"ingressClassName":"nginx"}},
  },
  {
    command: 'create quota q1 --hard=cpu=1,memory=1G,pods=2 --scopes=BestEffort',
    hex:
      '6b3873000a130a027631120d5265736f7572636551756f746112530a180a02713112001a0675736572313122002a00320038' +
      '00420012350a0a0a0363707512030a01310a0e0a066d656d6f727912040a0231470a0b0a04706f647312030a0132120a4265' +
      '73744566666f72741a001a002200',
    json: {"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q1","namespace":"user11"},"spec":{"hard":{"cpu":"1","memory":"1G","pods":"2"},"scopes":["BestEffort"]}},
  },
  {
    command: 'create token sa1 --duration=10m',
    hex:
      '6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e52657175657374121d0a10' +
      '0a0012001a0022002a00320038004200120320d8041a040a0012001a002200',
    json: {"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":600}},
  },
  {
    command: 'create cronjob cj --image=busybox --schedule="*/1 * * * *" -- date',
    hex:
      '6b3873000a130a0862617463682f7631120743726f6e4a6f6212aa010a180a02636a12001a0675736572313122002a003200' +
      '38004200128b010a0b2a2f31202a202a202a202a1a002a7a0a120a02636a12001a0022002a00320038004200126432620a10' +
      '0a0012001a0022002a00320038004200124e12270a02636a120762757379626f781a04646174652a0042006a007200800100' +
      '880100900100a201001a094f6e4661696c757265320042004a0052005800600068008201008a01009a0100c201001a001a00' +
      '2200',
    json: {"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"cj","namespace":"user11"},"spec":{"schedule":"*/1 * * * *","jobTemplate":{"metadata":{"name":"cj"},"spec":{"template":{"spec":{"containers":[{"name":"cj","image":"busybox","command":["date"]}],"restartPolicy":"OnFailure"}}}}}},
  },
  {
    command: 'autoscale deployment userlist2 --min=2 --max=5 --cpu-percent=80',
    hex:
      '6b3873000a290a0e6175746f7363616c696e672f76311217486f72697a6f6e74616c506f644175746f7363616c6572124b0a' +
      '190a09757365726c6973743212001a0022002a0032003800420012280a200a0a4465706c6f796d656e741209757365726c69' +
      '7374321a07617070732f76311002180520501a04180020001a002200',
    json: {"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"userlist2"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"userlist2","apiVersion":"apps/v1"},"minReplicas":2,"maxReplicas":5,"targetCPUUtilizationPercentage":80}},
  },
];
