/** Places for the demo data: region codes, districts, streets, postcodes and area codes. */
export const cities = [
  { region: '110105', addr: ['北京市朝阳区', '建国路88号'], post: '100022', area: '010' },
  { region: '310104', addr: ['上海市徐汇区', '漕溪北路18号'], post: '200030', area: '021' },
  { region: '440104', addr: ['广东省广州市越秀区', '中山五路33号'], post: '510030', area: '020' },
  { region: '440305', addr: ['广东省深圳市南山区', '科技园南路66号'], post: '518057', area: '0755' },
  { region: '330106', addr: ['浙江省杭州市西湖区', '文三路90号'], post: '310012', area: '0571' },
  { region: '510107', addr: ['四川省成都市武侯区', '人民南路四段12号'], post: '610041', area: '028' },
  { region: '420106', addr: ['湖北省武汉市武昌区', '中南路7号'], post: '430071', area: '027' },
];

/** More places than `cities` (which generate-people.ts shares): region code, district, streets, postcode, area code. */
export const places = [
  ...cities.map((c) => ({
    region: c.region,
    district: c.addr[0] ?? '',
    streets: [c.addr[1]?.replace(/\d+号$/, '') ?? '', '人民路', '解放路'],
    post: c.post,
    area: c.area,
  })),
  {
    region: '320102',
    district: '江苏省南京市玄武区',
    streets: ['中山路', '北京东路', '珠江路'],
    post: '210018',
    area: '025',
  },
  {
    region: '610113',
    district: '陕西省西安市雁塔区',
    streets: ['长安南路', '小寨东路', '含光路'],
    post: '710061',
    area: '029',
  },
  {
    region: '500103',
    district: '重庆市渝中区',
    streets: ['解放碑步行街', '民生路', '中山三路'],
    post: '400010',
    area: '023',
  },
  { region: '120101', district: '天津市和平区', streets: ['南京路', '营口道', '滨江道'], post: '300041', area: '022' },
  {
    region: '320508',
    district: '江苏省苏州市姑苏区',
    streets: ['干将西路', '人民路', '十全街'],
    post: '215000',
    area: '0512',
  },
  {
    region: '370202',
    district: '山东省青岛市市南区',
    streets: ['香港中路', '东海西路', '山东路'],
    post: '266071',
    area: '0532',
  },
  {
    region: '430103',
    district: '湖南省长沙市天心区',
    streets: ['芙蓉中路', '劳动西路', '书院路'],
    post: '410004',
    area: '0731',
  },
  {
    region: '410105',
    district: '河南省郑州市金水区',
    streets: ['花园路', '农业路', '经三路'],
    post: '450003',
    area: '0371',
  },
];
export type Place = (typeof places)[number];
